"""The funnel of a period: clicks → leads → leads a platform could use → converted →
exported, with what waits and what never goes beside it, per platform and goal.

The leads of the period are a cohort: they arrived in it, and their conversions count
whenever they happened. Exported and excluded-for-good counts come from the export's
ledgers; the cohort's conversions no run has decided yet get the export's one rule now.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import exists, func, select

from capture.models import Click
from database import db
from export import fates, sources
from export.models import ExcludedConversion, ExportedConversion, ExportFile
from export.platforms import PLATFORMS, Platform, goal_platforms
from leads.models import Conversion, Goal, Lead
from workspace.search import usable_key


@dataclass
class GoalStage:
    """One goal on one platform: the cohort's conversions and where they stand."""

    goal: Goal
    converted: int = 0
    exported: int = 0
    waiting: int = 0
    excluded: Counter = field(default_factory=Counter)  # by exclusion code


@dataclass
class PlatformFunnel:
    platform: Platform
    clicks: int
    leads: int
    keyed: int  # leads the platform could take a conversion of
    goals: list[GoalStage]


def _count(query) -> int:
    return db.session.scalar(query) or 0


def funnels(since: datetime, until: datetime, now: datetime) -> list[PlatformFunnel]:
    """Return each platform's funnel for the leads that arrived in [since, until)."""
    cohort = (Lead.created_at >= since, Lead.created_at < until, Lead.status != "spam")
    clicks = dict(db.session.execute(
        select(Click.platform, func.count()).where(Click.first_seen >= since,
                                                   Click.first_seen < until)
        .group_by(Click.platform)
    ).all())  # fmt: skip
    leads = _count(select(func.count()).select_from(Lead).where(*cohort))
    converted = dict(db.session.execute(
        select(Conversion.goal_id, func.count()).join(Lead, Lead.id == Conversion.lead_id)
        .where(*cohort).group_by(Conversion.goal_id)
    ).all())  # fmt: skip
    goals = db.session.scalars(select(Goal).order_by(Goal.name)).all()
    result = []
    for platform in PLATFORMS.values():
        keyed = _count(select(func.count()).select_from(Lead).where(*cohort, usable_key(platform)))
        stages = {goal.id: GoalStage(goal, converted.get(goal.id, 0))
                  for goal in goals if platform in goal_platforms(goal)}  # fmt: skip
        _fill(platform, stages, cohort, now)
        result.append(PlatformFunnel(platform, clicks.get(platform.name, 0), leads, keyed,
                                     list(stages.values())))  # fmt: skip
    return result


def _fill(platform: Platform, stages: dict[int, GoalStage], cohort, now: datetime) -> None:
    """Count the cohort's conversions of each goal: exported, excluded, or waiting."""
    of_cohort = (select(Conversion.goal_id).join(Lead, Lead.id == Conversion.lead_id)
                 .where(*cohort))  # fmt: skip
    exported = db.session.execute(
        of_cohort.add_columns(func.count())
        .join(ExportedConversion, ExportedConversion.conversion_id == Conversion.id)
        .join(ExportFile, ExportFile.id == ExportedConversion.file_id)
        .where(ExportedConversion.platform == platform.name, ExportFile.status == "written")
        .group_by(Conversion.goal_id)
    )  # fmt: skip
    for goal_id, count in exported:
        if goal_id in stages:
            stages[goal_id].exported = count
    excluded = db.session.execute(
        of_cohort.add_columns(ExcludedConversion.code, func.count())
        .join(ExcludedConversion, ExcludedConversion.conversion_id == Conversion.id)
        .where(ExcludedConversion.platform == platform.name)
        .group_by(Conversion.goal_id, ExcludedConversion.code)
    )  # fmt: skip
    for goal_id, code, count in excluded:
        if goal_id in stages:
            stages[goal_id].excluded[code] += count
    for goal_id, stage in stages.items():
        # Not in a written file, not excluded for good: the rule says where it stands now.
        undecided = db.session.scalars(
            select(Conversion.id).join(Lead, Lead.id == Conversion.lead_id)
            .where(*cohort, Conversion.goal_id == goal_id,
                   ~exists().where(ExcludedConversion.conversion_id == Conversion.id,
                                   ExcludedConversion.platform == platform.name),
                   ~exists().where(ExportedConversion.conversion_id == Conversion.id,
                                   ExportedConversion.platform == platform.name,
                                   ExportedConversion.file_id == ExportFile.id,
                                   ExportFile.status == "written"))
        ).all()  # fmt: skip
        for start in range(0, len(undecided), sources.BATCH_SIZE):
            batch = sources.conversions_by_id(undecided[start : start + sources.BATCH_SIZE])
            for _, _, fate in fates.decide_conversions(stage.goal, platform, batch, now):
                if fate.state == "excluded":
                    stage.excluded[fate.code] += 1
                else:
                    stage.waiting += 1
