"""Where a run starts reading a goal's conversions: below a goal's mark on a platform,
every conversion is in a file or excluded for good, so a run with nothing new reads
nothing old.

A run moves the mark up to its lowest conversion still held, but never past one recorded
less than SAFETY ago: a conversion whose transaction was still open while the run read
may have a smaller ID than ones the run saw. Releasing a lead from spam moves the mark
back down to its conversions.
"""

from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from database import db, upsert_insert
from export.models import ExportMark
from leads.models import Conversion

SAFETY = timedelta(hours=1)  # far longer than any transaction that records a conversion


def settled_below(goal_id: int, platform: str) -> int:
    """Return the ID from which the goal's conversions may still be undecided."""
    mark = db.session.get(ExportMark, (goal_id, platform))
    return mark.settled_below if mark else 0


def advance(goal_id: int, platform: str, start: int, lowest_held: int | None,
            now: datetime) -> None:  # fmt: skip
    """Move the mark past what a run decided for good (no commit)."""
    old_enough = db.session.scalar(
        select(func.max(Conversion.id)).where(Conversion.goal_id == goal_id,
                                              Conversion.created_at < now - SAFETY)
    )  # fmt: skip
    candidates = [old_enough + 1 if old_enough is not None else start]
    if lowest_held is not None:
        candidates.append(lowest_held)
    mark = max(start, min(candidates))
    if mark == start:
        return
    table = ExportMark.__table__
    db.session.execute(
        upsert_insert(db.session.get_bind().dialect.name, table)
        .values(goal_id=goal_id, platform=platform, settled_below=mark)
        .on_conflict_do_update(index_elements=["goal_id", "platform"],
                               set_={"settled_below": mark})
    )  # fmt: skip


def lower(conversions: list[Conversion]) -> None:
    """Make the next run read these conversions again, on every platform (no commit)."""
    for conversion in conversions:
        db.session.execute(
            update(ExportMark)
            .where(ExportMark.goal_id == conversion.goal_id,
                   ExportMark.settled_below > conversion.id)
            .values(settled_below=conversion.id)
        )  # fmt: skip
