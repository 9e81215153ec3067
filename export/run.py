"""The nightly run: assign new rows to files in the ledger, then put the files in place.

Exactly once comes from the order of the work. Rows are first assigned to a file in the
ledger (a conversion or adjustment can be in one file per platform: the primary key says
so), batch by batch, each batch committed; in the same transactions, rows excluded for
good are recorded once in the exclusion ledger, so no later run decides or counts them
again. Each committed batch's rows are written on to their files' temporary names, and
once a goal's rows on a platform are all assigned, its files are renamed into place and
marked written. A run killed in between leaves files `pending` (and temporary files, which
the next run deletes); the next run writes them from the ledger before anything else.
Goals are exported side by side, by one worker process per core (export/workers.py).
"""

import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update

from database import db
from export import lock
from export.assign import Report, RunFiles, assign
from export.files import (
    ExportFailed,
    check_writable,
    manifest_path,
    remove_leftovers,
    write_file,
    write_manifest,
)
from export.lock import LEASE
from export.models import ExportFile, ExportRun
from export.platforms import PLATFORMS
from export.workers import assign_in_workers, failure
from leads.models import Goal

__all__ = ["ExportBusy", "ExportFailed", "Report", "run_export"]


class ExportBusy(RuntimeError):
    """Another export holds the lock."""


@dataclass(frozen=True)
class WrittenFile:
    path: str
    kind: str
    part: int
    rows: int
    sha256: str | None


def platform_goals(goal_names: Iterable[str] = (), platforms: Iterable[str] = ()):
    """Yield (goal, platform) for each goal and each chosen platform it is set up for."""
    names, chosen = set(goal_names), set(platforms) or set(PLATFORMS)
    for goal in db.session.scalars(select(Goal).order_by(Goal.id)):
        if names and goal.name not in names:
            continue
        for platform in PLATFORMS.values():
            if platform.name in chosen and platform.goal_name(goal):
                yield goal, platform


def utcnow() -> datetime:
    return datetime.now(UTC)


def run_export(out_dir: str, goal_names: Iterable[str] = (), platforms: Iterable[str] = (),
               dry_run: bool = False, clock=utcnow, jobs: int = 1) -> Report:  # fmt: skip
    """Run the export once, in `jobs` processes; see the module docstring for how it stays
    exactly once."""
    report = Report()
    if dry_run:
        for goal, platform in list(platform_goals(goal_names, platforms)):
            assign(None, goal, platform, clock(), report)
        db.session.rollback()
        return report
    check_writable(out_dir)
    holder = lock.acquire(LEASE)
    if holder:
        raise ExportBusy(f"another export is running: {holder}")
    run = run_files = None
    try:
        db.session.execute(
            update(ExportRun).where(ExportRun.status == "running").values(status="interrupted")
        )
        run = ExportRun(started_at=clock(), host=socket.gethostname(), status="running",
                        skipped={})  # fmt: skip
        db.session.add(run)
        db.session.commit()
        report.run_id = run.id
        report.leftovers = remove_leftovers(out_dir)
        finish_pending(out_dir, clock)
        pairs = list(platform_goals(goal_names, platforms))
        if (jobs := min(jobs, len(pairs))) > 1:
            assign_in_workers(run, out_dir, pairs, clock, report, jobs)
        else:
            run_files = RunFiles(run, out_dir, clock)
            for goal, platform in pairs:
                assign(run_files, goal, platform, clock(), report)
        run.skipped = {kind: dict(reasons) for kind, reasons in sorted(report.skipped.items())}
        db.session.commit()
        report.files = sorted((WrittenFile(f.path, f.kind, f.part, f.rows, f.sha256)
                               for f in report.files), key=lambda f: f.path)  # fmt: skip
        run.status, run.finished_at = "finished", clock()
        db.session.commit()
        write_manifest(run, out_dir)
    except Exception as error:
        db.session.rollback()
        if run is not None:
            run.status, run.error, run.finished_at = "failed", str(error)[:2000], clock()
            db.session.commit()
        if isinstance(error, OSError):
            raise ExportFailed(failure(error)) from error
        raise
    finally:
        if run_files is not None:
            run_files.discard()  # the files not put in place, whatever stopped the run
        lock.release()
    return report


def finish_pending(out_dir: str, clock=utcnow) -> list[ExportFile]:
    """Write the files a killed or failed run left pending, and the manifests of the runs
    that stopped with files in place (a run puts a goal's files in place as it goes)."""
    pending = db.session.scalars(
        select(ExportFile).where(ExportFile.status == "pending").order_by(ExportFile.id)
    ).all()
    for file in pending:
        write_file(file, out_dir, clock(), LEASE)
    stopped = db.session.scalars(
        select(ExportRun).where(ExportRun.status.in_(("failed", "interrupted")),
                                ExportRun.files.any(ExportFile.status == "written"))
    )  # fmt: skip
    runs = {file.run for file in pending}
    runs |= {run for run in stopped if not os.path.exists(manifest_path(run, out_dir))}
    for run in sorted(runs, key=lambda run: run.id):
        write_manifest(run, out_dir)
    return pending
