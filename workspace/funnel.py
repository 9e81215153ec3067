"""The funnel of a period: clicks → leads → leads a platform could use → converted →
exported, with what waits and what never goes beside it, per platform and goal.

The leads of the period are a cohort: they arrived in it, and their conversions count
whenever they happened. Exported and excluded-for-good counts come from the export's
ledgers; the cohort's conversions no run has settled yet get the export's one rule now.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, func, select

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

    goal_id: int
    goal_name: str
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


def funnels(since: datetime, until: datetime, now: datetime) -> list[PlatformFunnel]:
    """Return each platform's funnel for the leads that arrived in [since, until)."""
    cohort = (Lead.created_at >= since, Lead.created_at < until, Lead.status != "spam")
    clicks = dict(db.session.execute(
        select(Click.platform, func.count()).where(Click.first_seen >= since,
                                                   Click.first_seen < until)
        .group_by(Click.platform)
    ).all())  # fmt: skip
    # One pass over the cohort's leads: all of them, and those each platform could use.
    leads, *keyed = db.session.execute(
        select(func.count(), *(func.coalesce(func.sum(case((usable_key(p), 1), else_=0)), 0)
                               for p in PLATFORMS.values()))
        .select_from(Lead).where(*cohort)
    ).one()  # fmt: skip
    goals = {goal.id: goal for goal in db.session.scalars(select(Goal).order_by(Goal.name))}
    stages = {(platform.name, goal.id): GoalStage(goal.id, goal.name)
              for goal in goals.values() for platform in goal_platforms(goal)}  # fmt: skip
    _count_conversions(stages, cohort)
    _count_unsettled(stages, goals, cohort, now)
    return [
        PlatformFunnel(platform, clicks.get(platform.name, 0), leads, platform_keyed,
                       [stage for (name, _), stage in stages.items() if name == platform.name])
        for platform, platform_keyed in zip(PLATFORMS.values(), keyed, strict=True)
    ]  # fmt: skip


def _of_cohort(cohort, *columns):
    return (
        select(Conversion.goal_id, *columns)
        .join(Lead, Lead.id == Conversion.lead_id)
        .where(*cohort)
    )


def _count_conversions(stages: dict, cohort) -> None:
    """Count the cohort's conversions of each goal, and those each ledger holds."""
    converted = dict(db.session.execute(
        _of_cohort(cohort, func.count()).group_by(Conversion.goal_id)
    ).all())  # fmt: skip
    for (_, goal_id), stage in stages.items():
        stage.converted = converted.get(goal_id, 0)
    exported = db.session.execute(
        _of_cohort(cohort, ExportedConversion.platform, func.count())
        .join(ExportedConversion, ExportedConversion.conversion_id == Conversion.id)
        .join(ExportFile, ExportFile.id == ExportedConversion.file_id)
        .where(ExportFile.status == "written")
        .group_by(Conversion.goal_id, ExportedConversion.platform)
    )  # fmt: skip
    for goal_id, platform, count in exported:
        if (platform, goal_id) in stages:
            stages[platform, goal_id].exported = count
    excluded = db.session.execute(
        _of_cohort(cohort, ExcludedConversion.platform, ExcludedConversion.code, func.count())
        .join(ExcludedConversion, ExcludedConversion.conversion_id == Conversion.id)
        .group_by(Conversion.goal_id, ExcludedConversion.platform, ExcludedConversion.code)
    )  # fmt: skip
    for goal_id, platform, code, count in excluded:
        if (platform, goal_id) in stages:
            stages[platform, goal_id].excluded[code] += count


def _count_unsettled(stages: dict, goals: dict[int, Goal], cohort, now: datetime) -> None:
    """Decide the cohort's conversions no ledger holds yet with the export's rule: each
    waits for a run or will never be sent."""
    for platform in PLATFORMS.values():
        unsettled = db.session.execute(
            _of_cohort(cohort, Conversion.id).where(sources.unsettled(platform))
        ).all()  # fmt: skip
        for goal_id, goal in goals.items():
            stage = stages.get((platform.name, goal_id))
            ids = [conversion for of_goal, conversion in unsettled if of_goal == goal_id]
            for start in range(0, len(ids) if stage else 0, sources.BATCH_SIZE):
                batch = sources.conversions_by_id(ids[start : start + sources.BATCH_SIZE])
                for _, _, fate in fates.decide_conversions(goal, platform, batch, now):
                    if fate.state == "excluded":
                        stage.excluded[fate.code] += 1
                    else:
                        stage.waiting += 1
