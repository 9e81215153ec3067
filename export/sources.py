"""Read conversions and adjustments in batches, as the facts the rules need and the rows
the files need. Batches are keyset-paged by ID, so memory stays flat at any volume."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import exists, func, select
from sqlalchemy.orm import aliased

from capture.models import Click
from capture.params import CLICK_ID_PARAMS
from database import db
from export.formats import AdjustmentRow, ConversionRow
from export.models import ExportedAdjustment, ExportedConversion, ExportFile, ExportRun
from export.rules import AdjustmentFacts, ConversionFacts
from leads.models import Adjustment, Conversion, Goal, Lead, LeadClickId

BATCH_SIZE = 2000
# Per platform, its click-ID parameters in the order they are preferred as the key.
PLATFORM_PARAMS = {
    platform: tuple(p.name for p in CLICK_ID_PARAMS if p.platform == platform)
    for platform in ("microsoft", "google")
}
# The click ID an adjustment is keyed by, per platform.
ADJUSTMENT_KEY = {"microsoft": "msclkid", "google": "gclid"}


@dataclass(frozen=True)
class ClickIdRecord:
    value: str
    valid: bool
    first_seen: datetime | None


@dataclass
class ConversionRecord:
    """A conversion with its lead's keys and its value after any restatement."""

    id: int
    converted_at: datetime
    value: Decimal | None
    currency: str | None
    lead_id: int
    lead_status: str
    lead_created_at: datetime
    email_google: str | None
    email_microsoft: str | None
    phone: str | None
    ad_user_data: str | None
    ad_personalization: str | None
    retracted: bool = False
    click_ids: dict[str, ClickIdRecord] = field(default_factory=dict)

    def key_param(self, platform: str) -> str | None:
        """Return the parameter whose valid ID keys this conversion for the platform."""
        return next((p for p in PLATFORM_PARAMS[platform]
                     if p in self.click_ids and self.click_ids[p].valid), None)  # fmt: skip

    def facts(self, platform: str, goal: Goal, duplicate_of: int | None = None) -> ConversionFacts:
        param = self.key_param(platform)
        click = self.click_ids.get(param) if param else None
        click_id = click.value if click else None
        return ConversionFacts(
            converted_at=self.converted_at,
            click_time=(click and click.first_seen) or self.lead_created_at,
            goal_created_at=goal.created_at,
            window_days=goal.window_days,
            lead_status=self.lead_status,
            msclkid=click_id if platform == "microsoft" else None,
            google_click_id=click_id if platform == "google" else None,
            invalid_click_ids=tuple(p for p in PLATFORM_PARAMS[platform]
                                    if p in self.click_ids and not self.click_ids[p].valid),
            email_sha256=self.email_microsoft if platform == "microsoft" else self.email_google,
            phone_sha256=self.phone,
            ad_user_data=self.ad_user_data,
            currency=self.currency,
            retracted=self.retracted,
            duplicate_of=duplicate_of,
        )  # fmt: skip

    def row(self, kind: str, conversion_name: str) -> ConversionRow:
        """Return the file row; hashes only where the file carries them and consent allows."""
        platform = kind.split("-")[0]
        hashes = {}
        if kind in ("microsoft-conversions", "google-enhanced") and self.ad_user_data != "denied":
            email = self.email_microsoft if platform == "microsoft" else self.email_google
            hashes = {"email_sha256": email, "phone_sha256": self.phone}
        param = None if kind == "google-enhanced" else self.key_param(platform)
        keys = {param: self.click_ids[param].value} if param else {}
        return ConversionRow(
            conversion_name, self.converted_at, self.value, self.currency,
            ad_user_data=self.ad_user_data, ad_personalization=self.ad_personalization,
            **keys, **hashes,
        )  # fmt: skip


def _conversion_query():
    return (
        select(Conversion.id, Conversion.converted_at, Conversion.value, Conversion.currency,
               Lead.id, Lead.status, Lead.created_at, Lead.email_sha256_google,
               Lead.email_sha256_microsoft, Lead.phone_sha256, Lead.ad_user_data,
               Lead.ad_personalization)
        .join(Lead, Lead.id == Conversion.lead_id)
        .order_by(Conversion.id)
    )  # fmt: skip


def _complete(rows: Sequence) -> list[ConversionRecord]:
    """Build records, with the latest restatement, retractions and click IDs of the batch."""
    records = {row[0]: ConversionRecord(*row) for row in rows}
    if not records:
        return []
    adjustments = db.session.execute(
        select(Adjustment.conversion_id, Adjustment.kind, Adjustment.value, Adjustment.currency)
        .where(Adjustment.conversion_id.in_(records))
        .order_by(Adjustment.adjusted_at, Adjustment.id)
    )
    for conversion_id, kind, value, currency in adjustments:
        record = records[conversion_id]
        if kind == "retract":
            record.retracted = True
        else:
            record.value, record.currency = value, currency
    by_lead: dict[int, list[ConversionRecord]] = {}
    for record in records.values():
        by_lead.setdefault(record.lead_id, []).append(record)
    click_ids = db.session.execute(
        select(LeadClickId.lead_id, LeadClickId.param, LeadClickId.value, LeadClickId.valid,
               Click.first_seen)
        .outerjoin(Click, Click.id == LeadClickId.click_ref)
        .where(LeadClickId.lead_id.in_(by_lead))
    )  # fmt: skip
    for lead_id, param, value, valid, first_seen in click_ids:
        for record in by_lead[lead_id]:
            record.click_ids[param] = ClickIdRecord(value, valid, first_seen)
    return list(records.values())


def earlier_duplicates(goal_id: int, platform: str,
                       records: list[ConversionRecord]) -> dict[int, int]:  # fmt: skip
    """Return {conversion ID: the first conversion of the goal with its click ID and time}.

    Two leads can carry the same click ID (one visitor, two forms); the platforms take one
    conversion per click ID, goal and time.
    """
    keys = {record.id: (record.click_ids[param].value, record.converted_at)
            for record in records if (param := record.key_param(platform))}  # fmt: skip
    shared = db.session.scalars(
        select(LeadClickId.value)
        .where(LeadClickId.platform == platform,
               LeadClickId.value.in_({value for value, _ in keys.values()}))
        .group_by(LeadClickId.value)
        .having(func.count() > 1)
    ).all() if keys else []  # fmt: skip
    if not shared:
        return {}
    firsts = db.session.execute(
        select(LeadClickId.value, Conversion.converted_at, func.min(Conversion.id))
        .join(Conversion, Conversion.lead_id == LeadClickId.lead_id)
        .where(Conversion.goal_id == goal_id, LeadClickId.platform == platform,
               LeadClickId.valid.is_(True),
               LeadClickId.value.in_(shared))
        .group_by(LeadClickId.value, Conversion.converted_at)
    )  # fmt: skip
    first = {(value, converted_at): first_id for value, converted_at, first_id in firsts}
    return {cid: first[key] for cid, key in keys.items() if first.get(key, cid) != cid}


def _pages(query, key) -> Iterator[list[int]]:
    """Yield the IDs a one-column query selects, keyset-paged in ID order.

    The callers look each page up by primary key: plans that do not depend on how fresh
    the database's statistics are, while the ledger grows under a run.
    """
    after = 0
    while page := db.session.scalars(
        query.where(key > after).order_by(key).limit(BATCH_SIZE)
    ).all():
        after = page[-1]
        yield page


def _unexported(ledger_key, platform: str, ids: list[int]) -> list[int]:
    ledger = ledger_key.class_
    done = set(db.session.scalars(
        select(ledger_key).where(ledger.platform == platform, ledger_key.in_(ids))
    ))  # fmt: skip
    return [i for i in ids if i not in done]


def unexported_conversions(goal_id: int, platform: str) -> Iterator[list[ConversionRecord]]:
    """Yield the goal's conversions not yet in a file for the platform, in ID order."""
    goal_conversions = select(Conversion.id).where(Conversion.goal_id == goal_id)
    for page in _pages(goal_conversions, Conversion.id):
        if todo := _unexported(ExportedConversion.conversion_id, platform, page):
            yield conversions_by_id(todo)


def recent_conversions(goal_id: int, since: datetime) -> Iterator[list[ConversionRecord]]:
    """Yield the goal's conversions at or after `since`, exported or not, in ID order."""
    recent = select(Conversion.id).where(Conversion.goal_id == goal_id,
                                         Conversion.converted_at >= since)  # fmt: skip
    for page in _pages(recent, Conversion.id):
        yield conversions_by_id(page)


def conversions_in_file(file_id: int) -> Iterator[list[ConversionRecord]]:
    """Yield the conversions the ledger put in a file, in ID order."""
    key = ExportedConversion.conversion_id
    for page in _pages(select(key).where(ExportedConversion.file_id == file_id), key):
        yield conversions_by_id(page)


def conversions_by_id(ids: Sequence[int]) -> list[ConversionRecord]:
    """Return the records of the given conversions, in ID order."""
    return _complete(db.session.execute(_conversion_query().where(Conversion.id.in_(ids))).all())


@dataclass(frozen=True)
class AdjustmentRecord:
    """An adjustment, its conversion, and where that conversion went for the platform."""

    id: int
    kind: str
    value: Decimal | None
    currency: str | None
    adjusted_at: datetime
    conversion_id: int
    converted_at: datetime
    click_id: str | None
    conversion_retracted: bool
    exported_at: datetime | None
    exported_by_run: int | None

    def facts(self, run_id: int | None) -> AdjustmentFacts:
        return AdjustmentFacts(
            self.converted_at, self.adjusted_at, self.click_id,
            conversion_retracted=self.conversion_retracted,
            conversion_exported_at=self.exported_at,
            conversion_exported_now=run_id is not None and self.exported_by_run == run_id,
        )  # fmt: skip

    def row(self, platform: str, conversion_name: str) -> AdjustmentRow:
        key = {ADJUSTMENT_KEY[platform]: self.click_id} if self.click_id else {}
        return AdjustmentRow(conversion_name, self.converted_at, self.kind, self.adjusted_at,
                             self.value, self.currency, **key)  # fmt: skip


def adjustments_by_id(ids: Sequence[int], platform: str) -> list[AdjustmentRecord]:
    """Return the adjustments, keyed for the platform, with where their conversion went."""
    key_param = ADJUSTMENT_KEY[platform]
    key = (
        select(LeadClickId.value)
        .where(LeadClickId.lead_id == Conversion.lead_id, LeadClickId.param == key_param,
               LeadClickId.valid.is_(True))
        .scalar_subquery()
    )  # fmt: skip
    retraction = aliased(Adjustment)
    retracted = exists().where(retraction.conversion_id == Conversion.id,
                               retraction.kind == "retract")  # fmt: skip
    rows = db.session.execute(
        select(Adjustment.id, Adjustment.kind, Adjustment.value, Adjustment.currency,
               Adjustment.adjusted_at, Conversion.id, Conversion.converted_at, key, retracted)
        .join(Conversion, Conversion.id == Adjustment.conversion_id)
        .where(Adjustment.id.in_(ids))
        .order_by(Adjustment.id)
    ).all()  # fmt: skip
    exports = {
        conversion_id: (started_at, run_id)
        for conversion_id, started_at, run_id in db.session.execute(
            select(ExportedConversion.conversion_id, ExportRun.started_at, ExportRun.id)
            .join(ExportFile, ExportFile.id == ExportedConversion.file_id)
            .join(ExportRun, ExportRun.id == ExportFile.run_id)
            .where(ExportedConversion.platform == platform,
                   ExportedConversion.conversion_id.in_({row[5] for row in rows}))
        )
    }  # fmt: skip
    return [AdjustmentRecord(*row, *exports.get(row[5], (None, None))) for row in rows]


def unexported_adjustments(goal_id: int, platform: str) -> Iterator[list[AdjustmentRecord]]:
    """Yield the goal's adjustments not yet in a file for the platform, in ID order."""
    goal_adjustments = (
        select(Adjustment.id)
        .join(Conversion, Conversion.id == Adjustment.conversion_id)
        .where(Conversion.goal_id == goal_id)
    )
    for page in _pages(goal_adjustments, Adjustment.id):
        if todo := _unexported(ExportedAdjustment.adjustment_id, platform, page):
            yield adjustments_by_id(todo, platform)


def adjustments_in_file(file_id: int, platform: str) -> Iterator[list[AdjustmentRecord]]:
    """Yield the adjustments the ledger put in a file, in ID order."""
    key = ExportedAdjustment.adjustment_id
    for page in _pages(select(key).where(ExportedAdjustment.file_id == file_id), key):
        yield adjustments_by_id(page, platform)


def adjustments_by_conversion(ids: Sequence[int], platform: str) -> list[AdjustmentRecord]:
    """Return the adjustments of the given conversions (for one lead's page)."""
    adjustment_ids = db.session.scalars(
        select(Adjustment.id).where(Adjustment.conversion_id.in_(ids))
    ).all()
    return adjustments_by_id(adjustment_ids, platform) if adjustment_ids else []
