"""Read conversions and adjustments as records (export/records.py), in batches keyset-paged
by ID, so memory stays flat at any volume."""

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from functools import cache

from sqlalchemy import Row, and_, exists, func, null, select
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
from leads.models import ERASED, Adjustment, Conversion, Lead, LeadClickId

BATCH_SIZE = 10_000  # rows a run reads, decides and ledgers at a time
RECORD_COLUMNS = 13  # the query's first columns are a ConversionRecord's, then a click ID's


def _rows(query) -> Sequence[Row]:
    """Run a query as Core, after the session's pending changes: plain rows, without the
    ORM's work per row."""
    db.session.flush()
    return db.session.connection().execute(query).all()


@cache  # built once per argument: SQLAlchemy statements are immutable, building one is not cheap
def _conversion_query(platform: str | None, to_decide: bool):
    """Select conversions with their lead and the lead's click IDs (the platform's, when
    one is named), one row per click ID, in ID order.

    Rows to write, not to decide, leave out what only the rules read: when the lead
    arrived, when its click was recorded, whether another lead shares the click ID.
    """
    of_lead = LeadClickId.lead_id == Conversion.lead_id
    if platform:
        of_lead = and_(of_lead, LeadClickId.platform == platform)
    other = aliased(LeadClickId)
    shared = exists().where(other.value == LeadClickId.value, other.id != LeadClickId.id,
                            other.platform == LeadClickId.platform)  # fmt: skip
    arrived, recorded = (Lead.created_at, Click.first_seen) if to_decide else (null(), null())
    query = (
        select(Conversion.id, Conversion.converted_at, Conversion.value, Conversion.currency,
               Lead.id, Lead.public_id, Lead.status, arrived, Lead.email_sha256_google,
               Lead.email_sha256_microsoft, Lead.phone_sha256, Lead.ad_user_data,
               Lead.ad_personalization,
               LeadClickId.param, LeadClickId.value, LeadClickId.valid, recorded,
               shared if to_decide else null())
        .join(Lead, Lead.id == Conversion.lead_id)
        .outerjoin(LeadClickId, of_lead)
        .order_by(Conversion.id)
    )  # fmt: skip
    return query.outerjoin(Click, Click.id == LeadClickId.click_ref) if to_decide else query


def _where(*conditions) -> Callable:
    """Return a scope: what narrows a query of conversions to some of them."""
    return lambda query: query.where(*conditions)


def _complete(platform: str | None, scope: Callable,
              to_decide: bool = True) -> list[ConversionRecord]:  # fmt: skip
    """Return the records of the conversions a scope selects, with their latest restatement
    and retraction, and their lead's click IDs (the platform's, when one is named)."""
    records: dict[int, ConversionRecord] = {}
    for row in _rows(scope(_conversion_query(platform, to_decide))):
        if (record := records.get(row[0])) is None:
            record = records[row[0]] = ConversionRecord(*row[:RECORD_COLUMNS])
        if (param := row[RECORD_COLUMNS]) is not None:
            record.click_ids[param] = ClickId(*row[RECORD_COLUMNS + 1 :])
    if not records:
        return []
    adjustments = _rows(scope(
        select(Adjustment.conversion_id, Adjustment.kind, Adjustment.value, Adjustment.currency)
        .join(Conversion, Conversion.id == Adjustment.conversion_id)
        .order_by(Adjustment.adjusted_at, Adjustment.id)
    ))  # fmt: skip
    for conversion_id, kind, value, currency in adjustments:
        if (record := records.get(conversion_id)) is None:  # committed since the first read
            continue
        if kind == "retract":
            record.retracted = True
        else:
            record.value, record.currency = value, currency
    return list(records.values())


def earlier_duplicates(goal_id: int, platform: Platform,
                       records: list[ConversionRecord]) -> dict[int, int]:  # fmt: skip
    """Return {conversion ID: the first conversion of the goal with its click ID and time}.

    Two leads can carry the same click ID (one visitor, two forms); the platforms take one
    conversion per click ID, goal and time. Only click IDs read as shared are looked up.
    """
    keys = {record.id: (click_id.value, record.converted_at) for record in records
            if (param := key_param(platform, record.click_ids))
            and (click_id := record.click_ids[param]).shared}  # fmt: skip
    if not keys:
        return {}
    firsts = db.session.execute(
        select(LeadClickId.value, Conversion.converted_at, func.min(Conversion.id))
        .join(Conversion, Conversion.lead_id == LeadClickId.lead_id)
        .where(Conversion.goal_id == goal_id, LeadClickId.platform == platform.name,
               LeadClickId.valid.is_(True),
               LeadClickId.value.in_({value for value, _ in keys.values()}))
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
    while page := _rows(query.where(key > after).order_by(key).limit(BATCH_SIZE)):
        after = page[-1][0]
        yield [row[0] for row in page]


def _undecided(exported_key, platform: str, ids: list[int]) -> list[int]:
    """Return the IDs the exported ledger does not hold for the platform."""
    done = set(db.session.scalars(
        select(exported_key).where(exported_key.class_.platform == platform,
                                   exported_key.in_(ids))
    ))  # fmt: skip
    return [i for i in ids if i not in done]


def _not_in(ledger_key, subject_id, platform: str):
    """Return a condition: the ledger does not hold the row (a primary-key probe)."""
    ledger = ledger_key.class_
    return ~exists().where(ledger.platform == platform, ledger_key == subject_id)


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
    undecided = (Conversion.goal_id == goal_id, Conversion.id >= start,
                 _not_in(ExcludedConversion.conversion_id, Conversion.id, platform))  # fmt: skip
    not_filed = _not_in(ExportedConversion.conversion_id, Conversion.id, platform)
    for page in _pages(select(Conversion.id).where(*undecided), Conversion.id):
        # The page is the range of IDs with these conditions: cheaper to ask for than a list.
        in_page = Conversion.id.between(page[0], page[-1])
        if records := _complete(platform, _where(*undecided, not_filed, in_page)):
            yield records


def recent_conversions(goal_id: int, since: datetime,
                       platform: str) -> Iterator[list[ConversionRecord]]:  # fmt: skip
    """Yield the goal's conversions at or after `since`, exported or not, in ID order."""
    recent = (Conversion.goal_id == goal_id, Conversion.converted_at >= since)
    for page in _pages(select(Conversion.id).where(*recent), Conversion.id):
        yield _complete(platform, _where(*recent, Conversion.id.between(page[0], page[-1])))


def conversions_in_file(file_id: int, platform: str) -> Iterator[list[ConversionRecord]]:
    """Yield the conversions the ledger put in a file, in ID order: records to write, not
    to decide (see _conversion_query)."""
    key = ExportedConversion.conversion_id
    in_file = ExportedConversion.file_id == file_id
    for page in _pages(select(key).where(in_file), key):
        in_page = select(key).where(in_file, key.between(page[0], page[-1]))
        yield _complete(platform, _where(Conversion.id.in_(in_page)), to_decide=False)


def ledger_rows(file_id: int, subject: str) -> int:
    """Return how many conversions or adjustments (`subject`) the ledger put in a file."""
    ledger = ExportedConversion if subject == "conversion" else ExportedAdjustment
    return db.session.scalar(select(func.count()).where(ledger.file_id == file_id))


def erased_in_file(file_id: int) -> bool:
    """Tell whether the lead of a conversion the ledger put in a file is erased."""
    return bool(db.session.scalar(select(exists().where(
        ExportedConversion.file_id == file_id, Conversion.id == ExportedConversion.conversion_id,
        Lead.id == Conversion.lead_id, Lead.status == ERASED,
    ))))  # fmt: skip


def conversions_by_id(ids: Sequence[int]) -> list[ConversionRecord]:
    """Return the records of the given conversions, in ID order."""
    return _complete(None, _where(Conversion.id.in_(ids)))


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
               _not_in(ExcludedAdjustment.adjustment_id, Adjustment.id, platform.name))
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
