"""A run's goals shared among worker processes, one core each (Linux: forked).

Each goal's work on a platform stands on its own (export/assign.py: rows ledgered batch by
batch, then the goal's files put in place), so workers take the next goal until none is
left. They act for the run's process: they renew its lease, and they die with it, so the
lease never outlives the writers it stands for.
"""

import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from datetime import datetime

from flask import current_app

from database import db
from export import lock
from export.assign import Report, RunFiles, assign
from export.files import ExportFailed
from export.models import ExportFile, ExportRun
from export.platforms import PLATFORMS, Platform
from leads.models import Goal

PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies


def default_jobs() -> int:
    """Return how many cores this process may run on (workers need Linux: one elsewhere)."""
    return len(os.sched_getaffinity(0)) if sys.platform == "linux" else 1


def failure(error: Exception) -> str:
    """Say why a run stopped, as its record and the command show it."""
    if isinstance(error, OSError):
        return f"writing the export failed: {error}"
    return str(error) or type(error).__name__


def assign_in_workers(run: ExportRun, out_dir: str, pairs: list[tuple[Goal, Platform]],
                      clock: Callable[[], datetime], report: Report,
                      jobs: int) -> None:  # fmt: skip
    """Assign and write every (goal, platform) pair's rows in `jobs` worker processes and
    add what they wrote and held back to the report. Raise ExportFailed once every worker
    has stopped, if one failed or died: the goals finished stay written, and the next run
    finishes the files the others left pending."""
    context = multiprocessing.get_context("fork")
    todo = [(goal.id, platform.name) for goal, platform in pairs]
    taken = context.Value("i", 0)  # how many pairs workers have taken, in order
    app = current_app._get_current_object()
    db.session.commit()  # the run is stored, and the connection back in the pool,
    db.engine.dispose()  # closed: a worker must not inherit it (SQLite's locks are per process)
    workers = []
    try:
        for _ in range(jobs):
            reader, writer = context.Pipe(duplex=False)
            work = (app, run.id, out_dir, clock, todo, taken, writer, os.getpid())
            worker = context.Process(target=_work, args=work)
            worker.start()
            writer.close()  # the worker's end: reading gives EOFError once it is gone
            workers.append((worker, reader))
        outcomes = [_outcome(worker, reader) for worker, reader in workers]
    finally:  # interrupted while waiting: no worker may write after the lease is given up
        for worker, _ in workers:
            if worker.is_alive():
                worker.kill()
            worker.join()
    failures = [detail for outcome, detail in outcomes if outcome == "failed"]
    for outcome, detail in outcomes:
        if outcome == "done":
            _merge(report, detail)
    if failures:
        raise ExportFailed("; ".join(failures))


def _outcome(worker, reader) -> tuple[str, object]:
    try:
        return reader.recv()
    except EOFError:
        worker.join()
        return "failed", f"an export worker stopped (exit code {worker.exitcode})"


def _work(app, run_id: int, out_dir: str, clock, todo, taken, result, run_pid: int) -> None:
    """A worker: take the next pair until none is left; send what it wrote."""
    _die_with(run_pid)
    report = Report(run_id=run_id)
    with app.app_context():
        db.engine.dispose(close=False)  # any the parent still has out stay the parent's
        run_files = RunFiles(db.session.get(ExportRun, run_id), out_dir, clock)
        try:
            while (pair := _take(todo, taken)) is not None:
                goal_id, platform = pair
                assign(run_files, db.session.get(Goal, goal_id), PLATFORMS[platform], clock(),
                       report)  # fmt: skip
            files = [file.id for file in report.files]
            result.send(("done", (files, report.rows, dict(report.skipped))))
        except Exception as error:
            db.session.rollback()
            result.send(("failed", failure(error)))
        finally:
            run_files.discard()


def _take(todo: list, taken) -> tuple[int, str] | None:
    """Return the next (goal ID, platform) no worker has taken, or None."""
    with taken.get_lock():
        index = taken.value
        taken.value += 1
    return todo[index] if index < len(todo) else None


def _merge(report: Report, detail) -> None:
    files, rows, skipped = detail
    report.files += [db.session.get(ExportFile, file_id) for file_id in files]
    report.rows.update(rows)
    for kind, reasons in skipped.items():
        report.skipped[kind].update(reasons)


def _die_with(run_pid: int) -> None:
    """Have Linux kill this worker when the run's process dies, however it dies, and hold
    the run's lease as that process."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != run_pid:  # the run died before the request took hold
        os._exit(1)
    lock.act_for(run_pid)
