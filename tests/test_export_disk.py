"""The export on a real disk that fills up or turns read-only: it fails, marks nothing written."""

import os
import subprocess

import pytest
from sqlalchemy import func, select

from export.files import AtomicFile
from export.models import ExportedConversion, ExportFile, ExportRun
from tests.conftest import require
from tests.test_export_run import OLD, bulk_conversions, ledger_is_exactly_once, scalar

ROWS = 300  # about 27 KB of Microsoft rows: more than the small disk holds


@pytest.fixture
def small_disk(tmp_path):
    """Mount a 16 KiB tmpfs: a real file system that runs out of space."""
    require(os.geteuid() == 0, "mounting a small file system needs root")
    folder = tmp_path / "disk"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(folder)], check=True)
    yield folder
    subprocess.run(["umount", "--lazy", str(folder)], check=True)


def remount(folder, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(folder)], check=True)


@pytest.fixture
def converted(app, seed):
    goal_id = seed.goal("Closed won", created_at=OLD, google_action_name=None)
    bulk_conversions(app, goal_id, ROWS)
    return goal_id


def test_a_full_disk_fails_the_run_and_the_next_run_delivers_once(app, runner, staff,
                                                                  converted, small_disk):  # fmt: skip
    failed = runner.invoke(args=["export", "run", "--out", str(small_disk)])
    assert failed.exit_code == 1
    assert "No space left on device" in failed.output
    assert not list(small_disk.rglob("*.csv")) and not list(small_disk.rglob("*.tmp"))
    assert scalar(app, select(func.count()).where(ExportFile.status == "written")) == 0
    assert scalar(app, select(ExportRun.status)) == "failed"

    status = runner.invoke(args=["export", "status"]).output
    assert "1 files are pending" in status
    assert f"Closed won / microsoft: 0 exported\n  waiting: {ROWS}" in status
    staff.as_role("viewer")
    lead_page = staff.client.get("/staff/leads/1").get_data(as_text=True)
    assert "pending:" in lead_page and "written:" not in lead_page

    remount(small_disk, "size=1m")  # the operator frees space
    again = runner.invoke(args=["export", "run", "--out", str(small_disk)])
    assert again.exit_code == 0, again.output
    ledger_is_exactly_once(app, small_disk, ROWS)
    status = runner.invoke(args=["export", "status"]).output
    assert f"Closed won / microsoft: {ROWS} exported\n  waiting: 0\n" in status


def test_a_read_only_folder_is_refused_before_anything_is_assigned(app, runner, converted,
                                                                   small_disk):  # fmt: skip
    remount(small_disk, "ro")
    result = runner.invoke(args=["export", "run", "--out", str(small_disk)])
    assert result.exit_code == 1
    assert f"cannot write to the export folder {small_disk}: Read-only file system" in (
        result.output
    )
    assert scalar(app, select(func.count()).select_from(ExportedConversion)) == 0
    assert scalar(app, select(func.count()).select_from(ExportRun)) == 0


def test_a_file_the_full_disk_refused_leaves_no_temporary_file(small_disk):
    """Rows still buffered meet the full disk on closing: the file is deleted all the same."""
    (small_disk / "other-files").write_bytes(b"0" * 16384)  # the disk is full
    refused = AtomicFile(str(small_disk / "run-000001" / "001-goal.microsoft-conversions.csv"))
    refused.stream.write("x" * 100)  # buffered: nothing refused yet
    refused.discard()
    assert not list(small_disk.rglob("*.tmp"))
