"""Where every conversion stands, per goal and platform: exported, waiting, or excluded.

The Exports page and `flask export status` show this. Exported and excluded-for-good
counts come from the ledgers; the rest (conversions no run has decided yet) are decided
now by the one rule, so a conversion that a run would exclude shows as excluded at once.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from database import db
from export import fates
from export.models import ExcludedConversion, ExportedConversion, ExportFile
from export.platforms import Platform
from export.run import platform_goals
from leads.models import Conversion, Goal, Lead

LISTED = 500  # conversions listed under one exclusion reason


@dataclass
class Stage:
    """One goal on one platform: how many conversions are where."""

    goal: Goal
    platform: Platform
    exported: int = 0  # in written files
    waiting: int = 0  # out in the next run, held, or in a file not written yet
    next_release: datetime | None = None  # the earliest time a held one goes out
    excluded: Counter = field(default_factory=Counter)  # by exclusion code

    def wait_until(self, moment: datetime) -> None:
        self.waiting += 1
        self.next_release = min(self.next_release or moment, moment)


def pipeline(now: datetime) -> list[Stage]:
    """Return a Stage per goal and platform it is set up for."""
    stages = {(goal.id, platform.name): Stage(goal, platform)
              for goal, platform in platform_goals()}  # fmt: skip
    filed = db.session.execute(
        select(ExportFile.goal_id, ExportedConversion.platform, ExportFile.status, func.count())
        .join(ExportFile, ExportFile.id == ExportedConversion.file_id)
        .group_by(ExportFile.goal_id, ExportedConversion.platform, ExportFile.status)
    )  # fmt: skip
    for goal_id, platform, status, count in filed:
        if stage := stages.get((goal_id, platform)):
            if status == "written":
                stage.exported += count
            else:
                stage.waiting += count
                stage.next_release = stage.next_release or now
    excluded = db.session.execute(
        select(Conversion.goal_id, ExcludedConversion.platform, ExcludedConversion.code,
               func.count())
        .join(Conversion, Conversion.id == ExcludedConversion.conversion_id)
        .group_by(Conversion.goal_id, ExcludedConversion.platform, ExcludedConversion.code)
    )  # fmt: skip
    for goal_id, platform, code, count in excluded:
        if stage := stages.get((goal_id, platform)):
            stage.excluded[code] += count
    for stage in stages.values():
        for _, _, fate in fates.undecided_conversions(stage.goal, stage.platform, now):
            if fate.state == "excluded":
                stage.excluded[fate.code] += 1
            elif fate.until or fate.state == "out":
                stage.wait_until(fate.until or now)
            else:
                stage.waiting += 1  # held until someone acts (a quarantined lead)
    return list(stages.values())


@dataclass(frozen=True)
class Excluded:
    conversion_id: int
    lead_id: int
    converted_at: datetime
    reason: str
    recorded: bool  # by a run; otherwise the next run records it


def excluded_conversions(goal: Goal, platform: Platform, code: str,
                         now: datetime) -> list[Excluded]:  # fmt: skip
    """List a goal's conversions excluded on a platform for one reason, newest first."""
    recorded = db.session.execute(
        select(Conversion.id, Lead.id, Conversion.converted_at, ExcludedConversion.reason)
        .join(Conversion, Conversion.id == ExcludedConversion.conversion_id)
        .join(Lead, Lead.id == Conversion.lead_id)
        .where(Conversion.goal_id == goal.id, ExcludedConversion.platform == platform.name,
               ExcludedConversion.code == code)
        .order_by(Conversion.id.desc())
        .limit(LISTED)
    )  # fmt: skip
    listed = [Excluded(*row, recorded=True) for row in recorded]
    for record, _, fate in fates.undecided_conversions(goal, platform, now):
        if fate.state == "excluded" and fate.code == code:
            listed.append(Excluded(record.id, record.lead_id, record.converted_at, fate.reason,
                                   recorded=False))  # fmt: skip
    return sorted(listed, key=lambda item: item.conversion_id, reverse=True)[:LISTED]
