"""The one decision (export/rules.py) applied to what is stored.

The nightly run, the feeds, `flask export status`, the lead page, the Exports pages and
the staff forms all come here: a row already in the ledgers keeps the fate recorded
there (written to a file, or excluded for good); any other row gets the rules' verdict.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from database import db
from export import marks, sources
from export.formats import FILE_KINDS
from export.models import (
    ExcludedAdjustment,
    ExcludedConversion,
    ExportedAdjustment,
    ExportedConversion,
    ExportFile,
)
from export.platforms import Platform, goal_platforms
from export.records import AdjustmentRecord, ConversionRecord
from export.rules import Fate, adjustment_fate, conversion_fate, entry_warning
from leads.models import Adjustment, Conversion, Goal, Lead

Decided = tuple[ConversionRecord | AdjustmentRecord, str, Fate]  # a row, its file kind, fate


def decide_conversions(goal: Goal, platform: Platform, batch: list[ConversionRecord],
                       now: datetime) -> list[Decided]:  # fmt: skip
    """Return each conversion of a batch with its file kind and fate on the platform."""
    duplicates = sources.earlier_duplicates(goal.id, platform, batch)
    option, created_at, window_days = platform.option(goal), goal.created_at, goal.window_days
    return [(record, *conversion_fate(platform, record.facts(created_at, window_days), option,
                                      now, duplicates.get(record.id)))
            for record in batch]  # fmt: skip


def decide_adjustments(platform: Platform, batch: list[AdjustmentRecord], now: datetime,
                       run_id: int | None = None) -> list[Decided]:  # fmt: skip
    """Return each adjustment of a batch with its file kind and fate on the platform."""
    return [(record, *adjustment_fate(platform, record.facts(run_id), now)) for record in batch]


def undecided_conversions(goal: Goal, platform: Platform, now: datetime) -> Iterator[Decided]:
    """Yield the conversions no ledger holds yet for the platform, decided now."""
    start = marks.settled_below(goal.id, platform.name)
    for batch in sources.undecided_conversions(goal.id, platform.name, start):
        yield from decide_conversions(goal, platform, batch, now)


def _conversion_warning(goal: Goal, platform: Platform, record: ConversionRecord,
                        now: datetime) -> str | None:  # fmt: skip
    duplicates = sources.earlier_duplicates(goal.id, platform, [record])
    facts = record.facts(goal.created_at, goal.window_days)
    return entry_warning(platform, facts, platform.option(goal), now,
                         duplicates.get(record.id))  # fmt: skip


def conversion_warnings(conversion: Conversion, now: datetime) -> list[str]:
    """Say why a conversion just entered (flushed, not committed) would miss a platform."""
    [record] = sources.conversions_by_id([conversion.id])
    warnings = (_conversion_warning(conversion.goal, platform, record, now)
                for platform in goal_platforms(conversion.goal))  # fmt: skip
    return [warning for warning in warnings if warning]


def adjustment_warnings(adjustment: Adjustment, now: datetime) -> list[str]:
    """Say why a restatement or retraction just entered (flushed) would miss a platform.

    Before its conversion is exported, an adjustment changes what the conversion goes out
    with; after, it goes out on its own, within the platform's limits.
    """
    goal = adjustment.conversion.goal
    [conversion] = sources.conversions_by_id([adjustment.conversion_id])
    warnings = []
    for platform in goal_platforms(goal):
        [record] = sources.adjustments_by_id([adjustment.id], platform)
        if record.exported_at is None and record.conversion_excluded is None:
            if adjustment.kind == "restate":
                warnings.append(_conversion_warning(goal, platform, conversion, now))
            continue
        [(_, _, fate)] = decide_adjustments(platform, [record], now)
        if fate.state == "excluded" and fate.code not in ("merged", "not_exported"):
            warnings.append(f"{platform.title} will not take it: {fate.reason}.")
    return [warning for warning in warnings if warning]


def release_exclusions(lead: Lead) -> None:
    """Forget the spam exclusions of a lead staff release, so the next run decides again.

    Spam is the one exclusion staff can undo; every other reason is a fact that stays.
    """
    spam = (ExcludedConversion.conversion_id.in_([c.id for c in lead.conversions]),
            ExcludedConversion.code == "spam")  # fmt: skip
    released = set(db.session.scalars(select(ExcludedConversion.conversion_id).where(*spam)))
    db.session.execute(delete(ExcludedConversion).where(*spam))
    marks.lower([c for c in lead.conversions if c.id in released])
    adjustments = [a.id for c in lead.conversions if c.id in released for a in c.adjustments]
    db.session.execute(delete(ExcludedAdjustment).where(
        ExcludedAdjustment.adjustment_id.in_(adjustments),
        ExcludedAdjustment.code == "not_exported",
    ))  # fmt: skip


@dataclass(frozen=True)
class Standing:
    """Where one conversion or adjustment stands on one platform, as staff see it."""

    platform: Platform
    state: str  # written, pending (in a file not yet written), out, held, excluded
    detail: str
    file: ExportFile | None = None

    @property
    def summary(self) -> str:
        if self.file is not None:
            return f"{self.state}: {self.file.path}"
        return self.state + (f": {self.detail}" if self.detail else "")


def _live_standing(platform: Platform, kind: str, fate: Fate) -> Standing:
    detail = fate.reason
    if fate.state == "out":
        detail = f"goes out in the next run ({FILE_KINDS[kind].title})"
    elif fate.until:
        detail += f" (until {fate.until:%Y-%m-%d %H:%M} UTC)"
    return Standing(platform, fate.state, detail)


def _ledgers(exported_key, excluded_key, ids: list[int]) -> tuple[dict, dict]:
    """Return {(id, platform): file} and {(id, platform): reason} from the two ledgers."""
    files = db.session.execute(
        select(exported_key, exported_key.class_.platform, ExportFile)
        .join(ExportFile, ExportFile.id == exported_key.class_.file_id)
        .where(exported_key.in_(ids))
    )
    reasons = db.session.execute(
        select(excluded_key, excluded_key.class_.platform, excluded_key.class_.reason).where(
            excluded_key.in_(ids)
        )
    )
    return ({(i, p): file for i, p, file in files},
            {(i, p): reason for i, p, reason in reasons})  # fmt: skip


def _recorded(platform: Platform, subject_id: int, ledgers) -> Standing | None:
    files, reasons = ledgers
    if (file := files.get((subject_id, platform.name))) is not None:
        return Standing(platform, file.status, "", file)
    if (reason := reasons.get((subject_id, platform.name))) is not None:
        return Standing(platform, "excluded", reason)
    return None


def standings(conversions: list[Conversion], now: datetime) -> dict[tuple, list[Standing]]:
    """Return {("conversion"|"adjustment", id): [Standing per platform]} for conversions
    (a lead's, on its page; one, in an API answer)."""
    goals = {c.id: c.goal for c in conversions}
    if not goals:
        return {}
    ledgers = _ledgers(ExportedConversion.conversion_id, ExcludedConversion.conversion_id,
                       list(goals))  # fmt: skip
    adjustments = _ledgers(ExportedAdjustment.adjustment_id, ExcludedAdjustment.adjustment_id,
                           [a.id for c in conversions for a in c.adjustments])  # fmt: skip
    found: dict[tuple, list[Standing]] = {}
    for record in sources.conversions_by_id(list(goals)):
        goal = goals[record.id]
        for platform in goal_platforms(goal):
            standing = _recorded(platform, record.id, ledgers)
            if standing is None:
                [(_, kind, fate)] = decide_conversions(goal, platform, [record], now)
                standing = _live_standing(platform, kind, fate)
            found.setdefault(("conversion", record.id), []).append(standing)
    platforms = {p.name: p for goal in goals.values() for p in goal_platforms(goal)}
    for platform in platforms.values():
        enabled = [i for i, goal in goals.items() if platform.goal_name(goal)]
        for record in sources.adjustments_by_conversion(enabled, platform):
            standing = _recorded(platform, record.id, adjustments)
            if standing is None:
                [(_, kind, fate)] = decide_adjustments(platform, [record], now)
                standing = _live_standing(platform, kind, fate)
            found.setdefault(("adjustment", record.id), []).append(standing)
    return found
