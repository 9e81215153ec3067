"""Goals exported side by side by worker processes: exactly once, one report, and no
worker left writing once its run has stopped, however it stopped."""

import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from database import db
from export import workers
from export.models import ExportLock, ExportRun
from export.run import ExportFailed
from tests.test_export_run import (
    OLD,
    at_goal,
    bulk_conversions,
    database_gone,
    export,
    flask_export,
    ledger_is_exactly_once,
    manifests_list_their_files,
)


def bulk_goals(app, seed, *sizes: int) -> list[int]:
    """Goals set up for Microsoft only, each with `size` converted leads."""
    goals = []
    for number, size in enumerate(sizes, start=1):
        goals.append(seed.goal(f"Goal {number}", created_at=OLD, google_action_name=None))
        bulk_conversions(app, goals[-1], size)
    return goals


def runs(app) -> list[tuple[str, str | None]]:
    with app.app_context():
        return db.session.execute(select(ExportRun.status, ExportRun.error)).all()


def lease_holder(app) -> str | None:
    with app.app_context():
        return db.session.get(ExportLock, "export").holder


def test_goals_are_exported_side_by_side_exactly_once(app, seed, tmp_path, monkeypatch):
    bulk_goals(app, seed, 3000, 2500, 10)
    exporters, real = tmp_path / "exporters", workers.assign

    def recording_exporter(*args):
        with exporters.open("a") as record:
            record.write(f"{os.getpid()}\n")
        return real(*args)

    monkeypatch.setattr(workers, "assign", recording_exporter)
    out = tmp_path / "out"
    report = export(app, out, jobs=2)
    pids = set(exporters.read_text().split())
    assert len(pids) == 2 and str(os.getpid()) not in pids  # two workers, not the run itself
    assert [file.path for file in report.files] == sorted(
        str(path.relative_to(out)) for path in out.rglob("*.csv")
    )  # fmt: skip
    assert report.rows["microsoft-conversions"] == 5510
    ledger_is_exactly_once(app, out, 5510)
    manifests_list_their_files(out)
    assert runs(app) == [("finished", None)] and lease_holder(app) is None


def test_a_worker_that_fails_fails_the_run_once_the_others_are_done(app, seed, tmp_path,
                                                                    monkeypatch):  # fmt: skip
    first, second = bulk_goals(app, seed, 20, 20)
    at_goal(monkeypatch, second, database_gone)
    with pytest.raises(ExportFailed, match="server closed the connection"):
        export(app, tmp_path, jobs=2)
    [(status, error)] = runs(app)
    assert status == "failed" and "server closed the connection" in error
    assert [path.name[:3] for path in tmp_path.rglob("*.csv")] == [f"{first:03d}"]
    assert lease_holder(app) is None
    monkeypatch.undo()
    export(app, tmp_path, jobs=2)
    ledger_is_exactly_once(app, tmp_path, 40)
    manifests_list_their_files(tmp_path)


def test_a_worker_killed_fails_the_run_and_the_next_run_finishes_its_goal(app, seed, tmp_path,
                                                                          monkeypatch):  # fmt: skip
    _, second = bulk_goals(app, seed, 20, 20)
    at_goal(monkeypatch, second, lambda: os.kill(os.getpid(), signal.SIGKILL))
    with pytest.raises(ExportFailed, match=r"an export worker stopped \(exit code -9\)"):
        export(app, tmp_path, jobs=2)
    assert lease_holder(app) is None
    monkeypatch.undo()
    export(app, tmp_path, jobs=2)
    ledger_is_exactly_once(app, tmp_path, 40)
    assert not list(tmp_path.rglob("*.tmp"))


def children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def gone(pid: int) -> bool:
    """Tell whether a process has exited (a zombie no one reaped has too)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rpartition(")")[2].split()[0] in ("Z", "X")


@pytest.mark.timeout(300)
@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT])
def test_a_run_stopped_takes_its_workers_with_it(app, seed, database_url, tmp_path, stop):
    """Killed, the run's workers die with it; interrupted (Ctrl-C), it stops them first."""
    bulk_goals(app, seed, 40_000, 40_000)
    process = flask_export(database_url, tmp_path, "--jobs", "2")
    deadline = time.monotonic() + 100
    while not list(tmp_path.rglob("*.tmp")) and time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read()
        time.sleep(0.005)
    exporters = children(process.pid)
    assert len(exporters) == 2, exporters
    process.send_signal(stop)
    process.wait(timeout=10)
    deadline = time.monotonic() + 2  # the kernel kills them at once
    while not all(gone(pid) for pid in exporters) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert all(gone(pid) for pid in exporters), "a worker outlived its run"
    assert not list(tmp_path.rglob("*.csv")), "the run finished a goal before it was killed"
    again = flask_export(database_url, tmp_path)
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    ledger_is_exactly_once(app, tmp_path, 80_000)
    assert [status for status, _ in runs(app)] == ["interrupted", "finished"]
