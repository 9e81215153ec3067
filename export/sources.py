"""Read conversions and adjustments as records (export/records.py), in batches keyset-paged
by ID, so memory stays flat at any volume."""

from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.orm import aliased

from capture.models import Click
from database import db
from export.facts import ClickId, key_param
from export.models import (
    ExcludedAdjustment,
    ExcludedConversion,
    ExportedAdjustment,
    ExportedConversion,
    ExportFile,
    ExportRun,
)
from export.platforms import Platform
from export.records import AdjustmentRecord, ConversionRecord
from leads.models import Adjustment, Conversion, Lead, LeadClickId

BATCH_SIZE = 2000


def _conversion_query():
    return (
        select(Conversion.id, Conversion.converted_at, Conversion.value, Conversion.currency,
               Lead.id, Lead.public_id, Lead.status, Lead.created_at, Lead.email_sha256_google,
               Lead.email_sha256_microsoft, Lead.phone_sha256, Lead.ad_user_data,
               Lead.ad_personalization)
        .join(Lead, Lead.id == Conversion.lead_id)
        .order_by(Conversion.id)
    )  # fmt: skip


def _among(column, ids) -> ColumnElement[bool]:
    """Return a condition selecting at least the IDs: their range when they fill most of it
    (cheaper to send than thousands of parameters; the caller drops the others), else a list.
    """
    low, high = min(ids), max(ids)
    return column.between(low, high) if high - low < 4 * len(ids) else column.in_(ids)


def _complete(rows: Sequence) -> list[ConversionRecord]:
    """Build records, with the latest restatement, retractions and click IDs of the batch."""
    records = {row[0]: ConversionRecord(*row) for row in rows}
    if not records:
        return []
    adjustments = db.session.execute(
        select(Adjustment.conversion_id, Adjustment.kind, Adjustment.value, Adjustment.currency)
        .where(_among(Adjustment.conversion_id, records))
        .order_by(Adjustment.adjusted_at, Adjustment.id)
    )
    for conversion_id, kind, value, currency in adjustments:
        if (record := records.get(conversion_id)) is None:
            continue
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
            record.click_ids[param] = ClickId(value, valid, first_seen)
    return list(records.values())


def earlier_duplicates(goal_id: int, platform: Platform,
                       records: list[ConversionRecord]) -> dict[int, int]:  # fmt: skip
    """Return {conversion ID: the first conversion of the goal with its click ID and time}.

    Two leads can carry the same click ID (one visitor, two forms); the platforms take one
    conversion per click ID, goal and time.
    """
    keys = {record.id: (record.click_ids[param].value, record.converted_at)
            for record in records if (param := key_param(platform, record.click_ids))}  # fmt: skip
    shared = db.session.scalars(
        select(LeadClickId.value)
        .where(LeadClickId.platform == platform.name,
               LeadClickId.value.in_({value for value, _ in keys.values()}))
        .group_by(LeadClickId.value)
        .having(func.count() > 1)
    ).all() if keys else []  # fmt: skip
    if not shared:
        return {}
    firsts = db.session.execute(
        select(LeadClickId.value, Conversion.converted_at, func.min(Conversion.id))
        .join(Conversion, Conversion.lead_id == LeadClickId.lead_id)
        .where(Conversion.goal_id == goal_id, LeadClickId.platform == platform.name,
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


def _undecided(exported_key, platform: str, ids: list[int]) -> list[int]:
    """Return the IDs the exported ledger does not hold for the platform."""
    done = set(db.session.scalars(
        select(exported_key).where(exported_key.class_.platform == platform,
                                   exported_key.in_(ids))
    ))  # fmt: skip
    return [i for i in ids if i not in done]


def _not_excluded(excluded_key, subject_id, platform: str):
    """Return a condition: the excluded ledger does not hold the row (a primary-key probe)."""
    ledger = excluded_key.class_
    return ~exists().where(ledger.platform == platform, excluded_key == subject_id)


def unsettled(platform: Platform):
    """Return the condition that no ledger holds a conversion for the platform: in no
    written file, not excluded for good. It waits for a run (or the rule excludes it)."""
    return and_(
        ~exists().where(ExcludedConversion.conversion_id == Conversion.id,
                        ExcludedConversion.platform == platform.name),
        ~exists().where(ExportedConversion.conversion_id == Conversion.id,
                        ExportedConversion.platform == platform.name,
                        ExportedConversion.file_id == ExportFile.id,
                        ExportFile.status == "written"),
    )  # fmt: skip


def undecided_conversions(goal_id: int, platform: str,
                          start: int = 0) -> Iterator[list[ConversionRecord]]:  # fmt: skip
    """Yield the goal's conversions from ID `start` on neither in a file nor excluded for
    the platform."""
    excluded = ExcludedConversion.conversion_id
    undecided = (Conversion.goal_id == goal_id, Conversion.id >= start,
                 _not_excluded(excluded, Conversion.id, platform))  # fmt: skip
    for page in _pages(select(Conversion.id).where(*undecided), Conversion.id):
        todo = _undecided(ExportedConversion.conversion_id, platform, page)
        if len(todo) == len(page):  # all new: the page is the range, cheaper to ask for
            in_page = Conversion.id.between(page[0], page[-1])
            yield _complete(db.session.execute(
                _conversion_query().where(*undecided, in_page)
            ).all())  # fmt: skip
        elif todo:
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
    in_file = ExportedConversion.file_id == file_id
    for page in _pages(select(key).where(in_file), key):
        # The page is the file's rows in a range of IDs: cheaper to ask for than a list.
        yield _complete(db.session.execute(
            _conversion_query().join(ExportedConversion, key == Conversion.id)
            .where(in_file, key.between(page[0], page[-1]))
        ).all())  # fmt: skip


def conversions_by_id(ids: Sequence[int]) -> list[ConversionRecord]:
    """Return the records of the given conversions, in ID order."""
    return _complete(db.session.execute(_conversion_query().where(Conversion.id.in_(ids))).all())


def adjustments_by_id(ids: Sequence[int], platform: Platform) -> list[AdjustmentRecord]:
    """Return the adjustments, keyed for the platform, with where their conversion stands."""
    key = (
        select(LeadClickId.value)
        .where(LeadClickId.lead_id == Conversion.lead_id,
               LeadClickId.param == platform.adjustment_key,
               LeadClickId.valid.is_(True))
        .scalar_subquery()
    )  # fmt: skip
    retraction = aliased(Adjustment)
    retracted = exists().where(retraction.conversion_id == Conversion.id,
                               retraction.kind == "retract")  # fmt: skip
    rows = db.session.execute(
        select(Adjustment.id, Adjustment.kind, Adjustment.value, Adjustment.currency,
               Adjustment.adjusted_at, Conversion.id, Conversion.converted_at, Lead.public_id,
               Lead.status, key, retracted)
        .join(Conversion, Conversion.id == Adjustment.conversion_id)
        .join(Lead, Lead.id == Conversion.lead_id)
        .where(Adjustment.id.in_(ids))
        .order_by(Adjustment.id)
    ).all()  # fmt: skip
    conversion_ids = {row[5] for row in rows}
    exports = {
        conversion_id: (started_at, run_id, kind)
        for conversion_id, started_at, run_id, kind in db.session.execute(
            select(ExportedConversion.conversion_id, ExportRun.started_at, ExportRun.id,
                   ExportFile.kind)
            .join(ExportFile, ExportFile.id == ExportedConversion.file_id)
            .join(ExportRun, ExportRun.id == ExportFile.run_id)
            .where(ExportedConversion.platform == platform.name,
                   ExportedConversion.conversion_id.in_(conversion_ids))
        )
    }  # fmt: skip
    exclusions = dict(db.session.execute(
        select(ExcludedConversion.conversion_id, ExcludedConversion.reason)
        .where(ExcludedConversion.platform == platform.name,
               ExcludedConversion.conversion_id.in_(conversion_ids))
    ).all())  # fmt: skip
    return [AdjustmentRecord(*row, *exports.get(row[5], (None, None, None)),
                             conversion_excluded=exclusions.get(row[5]))
            for row in rows]  # fmt: skip


def undecided_adjustments(goal_id: int, platform: Platform) -> Iterator[list[AdjustmentRecord]]:
    """Yield the goal's adjustments neither in a file nor excluded for the platform."""
    goal_adjustments = (
        select(Adjustment.id)
        .join(Conversion, Conversion.id == Adjustment.conversion_id)
        .where(Conversion.goal_id == goal_id,
               _not_excluded(ExcludedAdjustment.adjustment_id, Adjustment.id, platform.name))
    )  # fmt: skip
    for page in _pages(goal_adjustments, Adjustment.id):
        if todo := _undecided(ExportedAdjustment.adjustment_id, platform.name, page):
            yield adjustments_by_id(todo, platform)


def adjustments_in_file(file_id: int, platform: Platform) -> Iterator[list[AdjustmentRecord]]:
    """Yield the adjustments the ledger put in a file, in ID order."""
    key = ExportedAdjustment.adjustment_id
    for page in _pages(select(key).where(ExportedAdjustment.file_id == file_id), key):
        yield adjustments_by_id(page, platform)


def adjustments_by_conversion(ids: Sequence[int], platform: Platform) -> list[AdjustmentRecord]:
    """Return the adjustments of the given conversions (for one lead's page)."""
    adjustment_ids = db.session.scalars(
        select(Adjustment.id).where(Adjustment.conversion_id.in_(ids))
    ).all()
    return adjustments_by_id(adjustment_ids, platform) if adjustment_ids else []
