"""The nightly run: files per goal, the ledger, exactly once, crashes, locks, and limits."""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import OperationalError

from database import db
from export import assign, fates, files, lock, sources
from export.models import (
    ExcludedConversion,
    ExportedConversion,
    ExportFile,
    ExportLock,
    ExportRun,
)
from export.run import ExportBusy, ExportFailed, run_export
from leads.models import Adjustment, Conversion, Lead, LeadClickId
from privacy.erasure import erase_lead
from tests.test_export_formats import read_upload

NOW = datetime.now(UTC)
LATER = NOW + timedelta(hours=7)  # the goal and clicks are old enough for both platforms
OLD = NOW - timedelta(days=2)
MSCLKID = "f894f652ea334e739002f7167ab8f8e3"
GCLID = "-Cj0KCQjw_AbC-123"
ROOT = Path(__file__).resolve().parents[1]


def uploads(folder: Path) -> dict[str, list[dict]]:
    """Read every upload file under a folder with the tests' own reader, by kind."""
    found: dict[str, list[dict]] = {}
    for path in sorted(folder.rglob("*.csv")):
        kind = path.name.split(".")[1]
        records = read_upload(path.read_bytes().decode("utf-8"), kind.replace("-", "_"))
        found.setdefault(kind, []).extend(records)
    return found


def export(app, folder, clock=LATER, **options):
    with app.app_context():
        return run_export(str(folder), clock=lambda: clock, **options)


def scalar(app, query):
    with app.app_context():
        return db.session.scalar(query)


@pytest.fixture
def goal(seed):
    return seed.goal("Closed won", created_at=OLD, microsoft_hashed=False)


def converted_lead(seed, goal, click_ids=(("msclkid", "microsoft", MSCLKID),
                                          ("gclid", "google", GCLID)), **fields):  # fmt: skip
    lead = seed.lead(created_at=OLD, click_ids=click_ids, **fields)
    return seed.conversion(lead, goal, converted_at=NOW - timedelta(hours=1))


def test_a_run_writes_each_platforms_file_once_with_a_manifest(app, seed, goal, tmp_path):
    converted_lead(seed, goal)
    report = export(app, tmp_path)
    files = uploads(tmp_path)
    assert sorted(files) == ["google-clicks", "microsoft-conversions"]
    assert files["microsoft-conversions"][0]["Microsoft Click ID"] == MSCLKID
    assert files["google-clicks"][0]["Google Click ID"] == GCLID
    assert files["google-clicks"][0]["Conversion Value"] == "100"
    manifest = json.loads((tmp_path / "run-000001" / "manifest.json").read_text())
    assert manifest["status"] == "finished"
    for entry in manifest["files"]:
        body = (tmp_path / "run-000001" / entry["path"]).read_bytes()
        assert entry["rows"] == 1 and entry["bytes"] == len(body)
        assert entry["sha256"] == __import__("hashlib").sha256(body).hexdigest()
    assert report.rows == Counter({"microsoft-conversions": 1, "google-clicks": 1})

    again = export(app, tmp_path, clock=LATER + timedelta(days=1))
    assert again.files == [] and len(list(tmp_path.rglob("*.csv"))) == 2


def test_rows_too_fresh_wait_for_a_later_night(app, seed, goal, tmp_path):
    lead = seed.lead(created_at=NOW - timedelta(minutes=30),
                     click_ids=(("msclkid", "microsoft", MSCLKID), ("gclid", "google", GCLID)))  # fmt: skip
    seed.conversion(lead, goal, converted_at=NOW - timedelta(minutes=10))
    early = export(app, tmp_path, clock=NOW + timedelta(hours=2))
    assert early.rows == Counter({"microsoft-conversions": 1})
    assert early.skipped["google-clicks"] == {"held: the click is too recent for Google": 1}
    later = export(app, tmp_path)
    assert later.rows == Counter({"google-clicks": 1})


def test_excluded_rows_are_counted_with_their_reason_on_the_run(app, seed, goal, tmp_path):
    converted_lead(seed, goal, click_ids=(("msclkid", "microsoft", "not-a-click-id"),))
    spam = seed.lead(created_at=OLD, status="spam", click_ids=(("gclid", "google", GCLID),))
    seed.conversion(spam, goal, converted_at=NOW - timedelta(hours=1))
    report = export(app, tmp_path)
    assert report.files == []
    with app.app_context():
        skipped = db.session.get(ExportRun, report.run_id).skipped
    no_key = "excluded: no usable click ID or hashed contact"
    assert skipped["microsoft-conversions"] == {no_key: 2}
    assert skipped["google-clicks"] == {no_key: 1, "excluded: lead marked spam": 1}
    with app.app_context():
        reasons = sorted(db.session.scalars(select(ExcludedConversion.reason)))
    assert reasons == ["no valid Google click ID", "no valid Microsoft click ID",
                       "no valid Microsoft click ID (invalid msclkid)",
                       "the lead is marked spam"]  # fmt: skip


def test_the_same_click_converted_twice_at_the_same_time_goes_once(app, seed, goal, tmp_path):
    first = converted_lead(seed, goal)
    converted_lead(seed, goal)  # another lead, same click IDs, same time
    report = export(app, tmp_path)
    assert report.rows == Counter({"microsoft-conversions": 1, "google-clicks": 1})
    reason = "excluded: same click ID, goal and time as another conversion"
    assert report.skipped["microsoft-conversions"] == {reason: 1}
    assert report.skipped["google-clicks"] == {reason: 1}
    with app.app_context():
        reasons = set(db.session.scalars(select(ExcludedConversion.reason)))
    assert reasons == {f"same click ID, goal and time as conversion {first}"}


def test_a_braid_in_a_later_batch_gives_the_whole_google_file_its_columns(
    app, seed, goal, tmp_path, monkeypatch
):
    """Rows go on to a file batch by batch; a GBRAID in the second batch changes its header."""
    monkeypatch.setattr(sources, "BATCH_SIZE", 1)
    for click_id in (("gclid", "google", GCLID), ("gbraid", "google", "0AAAAAo-BraiD_1")):
        converted_lead(seed, goal, click_ids=(click_id,))
    export(app, tmp_path)
    rows = uploads(tmp_path)["google-clicks"]
    assert [(r["Google Click ID"], r["GBRAID"], r["WBRAID"]) for r in rows] == [
        (GCLID, "", ""), ("", "0AAAAAo-BraiD_1", "")
    ]  # fmt: skip


def test_enhanced_goal_sends_hashes_and_respects_denied_consent(app, seed, tmp_path):
    goal = seed.goal("Enhanced", created_at=OLD, google_enhanced=True, microsoft_hashed=True,
                     microsoft_goal_name=None)  # fmt: skip
    converted_lead(seed, goal, click_ids=(), email_sha256_google="a" * 64, phone_sha256="b" * 64,
                   ad_user_data="granted")  # fmt: skip
    converted_lead(seed, goal, email_sha256_google="c" * 64, ad_user_data="denied")
    export(app, tmp_path)
    files = uploads(tmp_path)
    assert [r["Email"] for r in files["google-enhanced"]] == ["a" * 64]
    assert files["google-enhanced"][0]["Ad User Data"] == "Granted"
    assert [r["Google Click ID"] for r in files["google-clicks"]] == [GCLID]
    assert "c" * 64 not in "".join(p.read_text() for p in tmp_path.rglob("*.csv"))
    assert "microsoft-conversions" not in files  # the goal has no Microsoft name


def test_a_lead_erased_while_the_run_writes_leaves_with_no_hashes(app, seed, tmp_path,
                                                                   monkeypatch):  # fmt: skip
    goal = seed.goal("Enhanced", created_at=OLD, google_enhanced=True, microsoft_hashed=True)
    conversion = converted_lead(seed, goal, email_sha256_google="a" * 64,
                                email_sha256_microsoft="d" * 64, ad_user_data="granted")  # fmt: skip
    real = assign.write_file

    def erased_before_the_files_go_in_place(*args):
        with app.app_context():
            erase_lead(db.session.get(Conversion, conversion).lead, NOW)
            db.session.commit()
        real(*args)

    monkeypatch.setattr(assign, "write_file", erased_before_the_files_go_in_place)
    report = export(app, tmp_path)
    # Microsoft's row was assigned before the erasure: it goes, keyed by its click ID only.
    [row] = uploads(tmp_path)["microsoft-conversions"]
    assert row["Microsoft Click ID"] == MSCLKID and row["Hashed Email Address"] == ""
    assert report.skipped == {"google-clicks": {"excluded: lead's personal data erased": 1}}
    written = "".join(path.read_text() for path in tmp_path.rglob("*.csv"))
    assert "a" * 64 not in written and "d" * 64 not in written


def test_adjustments_follow_their_conversion_in_a_later_run(app, seed, goal, tmp_path):
    conversion = converted_lead(seed, goal)
    export(app, tmp_path)
    with app.app_context():
        db.session.add(Adjustment(conversion_id=conversion, kind="restate", value=Decimal("250"),
                                  currency="EUR", adjusted_at=LATER + timedelta(minutes=1)))  # fmt: skip
        db.session.commit()
    soon = export(app, tmp_path, clock=LATER + timedelta(minutes=5))
    assert soon.rows == Counter({"microsoft-adjustments": 1})
    assert soon.skipped["google-adjustments"] == {
        "held: Google adjusts conversions 24 hours old or older": 1
    }
    export(app, tmp_path, clock=LATER + timedelta(days=2))
    files = uploads(tmp_path)
    assert files["microsoft-adjustments"][0]["Adjustment Value"] == "250"
    assert files["google-adjustments"][0]["Adjustment Type"] == "RESTATE"
    assert files["google-adjustments"][0]["Adjusted Value Currency"] == "EUR"


def test_a_restatement_before_the_export_is_in_the_exported_value(app, seed, goal, tmp_path):
    conversion = converted_lead(seed, goal)
    retracted = converted_lead(seed, goal, click_ids=(("msclkid", "microsoft", "a" * 32),))
    with app.app_context():
        db.session.add_all([
            Adjustment(conversion_id=conversion, kind="restate", value=Decimal("80.5"),
                       currency="USD", adjusted_at=NOW),
            Adjustment(conversion_id=retracted, kind="retract", adjusted_at=NOW),
        ])  # fmt: skip
        db.session.commit()
    report = export(app, tmp_path)
    files = uploads(tmp_path)
    assert [r["Conversion Value"] for r in files["microsoft-conversions"]] == ["80.5"]
    assert report.skipped["microsoft-conversions"] == {"excluded: retracted before export": 1}
    assert report.skipped["microsoft-adjustments"] == {
        "excluded: already in the exported value": 1,
        "excluded: its conversion was never exported": 1,
    }


def bulk_conversions(app, goal_id: int, count: int) -> None:
    """Insert `count` leads with an MSCLKID, each converted once, straight into the tables."""
    with app.app_context():
        first = (db.session.scalar(select(func.max(Lead.id))) or 0) + 1
        ids = range(first, first + count)
        db.session.execute(insert(Lead), [
            {"id": i, "public_id": f"bulk{i}", "created_at": OLD, "status": "new",
             "fingerprint": "f", "attribution": {}, "extra": {}} for i in ids
        ])  # fmt: skip
        db.session.execute(insert(LeadClickId), [
            {"lead_id": i, "param": "msclkid", "platform": "microsoft", "value": f"{i:032x}",
             "valid": True} for i in ids
        ])  # fmt: skip
        db.session.execute(insert(Conversion), [
            {"lead_id": i, "goal_id": goal_id, "converted_at": NOW - timedelta(hours=1),
             "value": Decimal("10"), "currency": "USD", "created_at": NOW} for i in ids
        ])  # fmt: skip
        db.session.commit()


def ledger_is_exactly_once(app, folder: Path, expected: int) -> None:
    """Every conversion is in the ledger once and in the written files once."""
    with app.app_context():
        ledgered = db.session.scalar(select(func.count()).select_from(ExportedConversion))
        pending = db.session.scalar(select(func.count()).where(ExportFile.status == "pending"))
    ids = Counter(r["Microsoft Click ID"] for r in uploads(folder)["microsoft-conversions"])
    assert ledgered == expected and pending == 0
    assert len(ids) == expected and set(ids.values()) == {1}


def test_a_run_that_fails_between_files_is_finished_by_the_next(app, seed, goal, tmp_path,
                                                                monkeypatch):  # fmt: skip
    for _ in range(3):
        converted_lead(seed, goal, click_ids=(("msclkid", "microsoft", os.urandom(16).hex()),))
    monkeypatch.setattr(assign, "MAX_ROWS_PER_FILE", 1)
    real, calls = assign.write_file, []

    def crash_after_first(*args):
        if calls:
            raise OSError(28, "No space left on device")
        calls.append(args)
        real(*args)

    monkeypatch.setattr(assign, "write_file", crash_after_first)
    with pytest.raises(ExportFailed, match="No space left"):
        export(app, tmp_path)
    assert len(list(tmp_path.rglob("*.csv"))) == 1
    assert not list(tmp_path.rglob("*.tmp"))
    monkeypatch.setattr(assign, "write_file", real)
    report = export(app, tmp_path)
    assert report.files == []  # nothing new: the failed run's files were finished first
    ledger_is_exactly_once(app, tmp_path, 3)
    with app.app_context():
        statuses = db.session.scalars(select(ExportRun.status).order_by(ExportRun.id)).all()
    assert statuses == ["failed", "finished"]


def test_an_unwritable_folder_fails_before_anything_is_assigned(app, seed, goal, tmp_path):
    converted_lead(seed, goal)
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    with pytest.raises(ExportFailed, match="cannot write to the export folder"):
        export(app, blocked)
    assert scalar(app, select(func.count()).select_from(ExportedConversion)) == 0


def test_a_dry_run_changes_nothing(app, seed, goal, tmp_path):
    converted_lead(seed, goal)
    report = export(app, tmp_path, dry_run=True)
    assert report.rows == Counter({"microsoft-conversions": 1, "google-clicks": 1})
    assert not tmp_path.joinpath("run-000001").exists()
    assert scalar(app, select(func.count()).select_from(ExportRun)) == 0


def test_a_live_holder_keeps_the_lock_and_a_dead_one_loses_it(app, seed, goal, tmp_path):
    converted_lead(seed, goal)
    with app.app_context():
        db.session.add(ExportLock(name="export", holder="other-host:1",
                                  expires_at=datetime.now(UTC) + timedelta(minutes=1)))  # fmt: skip
        db.session.commit()
    with pytest.raises(ExportBusy, match="other-host:1"):
        export(app, tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    with app.app_context():
        db.session.get(ExportLock, "export").holder = f"{lock.this_holder().split(':')[0]}:{dead}"
        db.session.commit()
    assert export(app, tmp_path).rows["microsoft-conversions"] == 1
    with app.app_context():
        assert db.session.get(ExportLock, "export").holder is None
    with app.app_context():
        held = db.session.get(ExportLock, "export")
        held.holder, held.expires_at = "other-host:1", datetime.now(UTC) - timedelta(seconds=1)
        db.session.commit()
    assert export(app, tmp_path).files == []  # an expired lease is taken over


def test_a_run_whose_lease_was_taken_stops(app):
    with app.app_context():
        assert lock.acquire(timedelta(minutes=1)) is None
        db.session.get(ExportLock, "export").holder = "other-host:1"
        db.session.commit()
        with pytest.raises(lock.LockLost):
            lock.renew(timedelta(minutes=1))


def flask_export(database_url: str, folder: Path, *options: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "CLOSELOOP_DATABASE_URL": database_url,
        "CLOSELOOP_ENVIRONMENT": "development",
    }  # importing wsgi.py set production
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "export", "run", "--out", str(folder),
         *options],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


@pytest.fixture
def old_goal(seed):
    return seed.goal("Bulk", created_at=OLD, google_action_name=None)


@pytest.mark.timeout(300)
def test_a_run_killed_halfway_is_completed_exactly_once(app, seed, database_url, old_goal,
                                                        tmp_path):  # fmt: skip
    """100,001 rows make two files, then 30,000 a third; the kill lands once the first is
    in place. One process: the goals one after the other."""
    bulk_conversions(app, old_goal, 100_001)
    bulk_conversions(app, seed.goal("Second", created_at=OLD, google_action_name=None), 30_000)
    process = flask_export(database_url, tmp_path, "--jobs", "1")
    deadline = time.monotonic() + 100
    while not list(tmp_path.rglob("*.csv")) and time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read()
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert len(list(tmp_path.rglob("*.csv"))) < 3, "the run finished before it was killed"
    again = flask_export(database_url, tmp_path)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    ledger_is_exactly_once(app, tmp_path, 130_001)
    with app.app_context():
        statuses = db.session.scalars(select(ExportRun.status).order_by(ExportRun.id)).all()
        parts = db.session.execute(
            select(ExportFile.goal_id, ExportFile.part, ExportFile.rows, ExportFile.run_id)
        ).all()
    assert statuses == ["interrupted", "finished"]
    # The killed run had assigned the first goal's rows; its temporary files are gone, and
    # each run's manifest lists the files in its folder.
    assert sorted(part for part in parts if part[0] == old_goal) == [
        (old_goal, 1, 100_000, 1), (old_goal, 2, 1, 1)
    ]  # fmt: skip
    assert not list(tmp_path.rglob("*.tmp"))
    manifests_list_their_files(tmp_path)


def manifests_list_their_files(folder: Path) -> None:
    """Every run folder has a manifest, which lists exactly the upload files beside it."""
    for run_folder in folder.glob("run-*"):
        listed = json.loads((run_folder / "manifest.json").read_text())["files"]
        assert sorted(f["path"] for f in listed) == sorted(p.name for p in run_folder.glob("*.csv"))


def at_goal(monkeypatch, goal_id: int, happen) -> None:
    """Make `happen()` happen when a run decides the goal's conversions, in any process."""
    real = fates.decide_conversions

    def deciding(goal, *args):
        if goal.id == goal_id:
            happen()
        return real(goal, *args)

    monkeypatch.setattr(fates, "decide_conversions", deciding)


def database_gone() -> None:
    raise OperationalError("SELECT", {}, Exception("server closed the connection"))


def test_a_run_stopped_after_a_goals_files_gets_its_manifest_from_the_next(
    app, seed, goal, tmp_path, monkeypatch
):
    """A run puts each goal's files in place as it goes: one that fails later has files."""
    converted_lead(seed, goal, click_ids=(("msclkid", "microsoft", MSCLKID),))
    second = seed.goal("Second", created_at=OLD, google_action_name=None)
    converted_lead(seed, second, click_ids=(("msclkid", "microsoft", "a" * 32),))
    at_goal(monkeypatch, second, database_gone)
    with pytest.raises(OperationalError):
        export(app, tmp_path)
    assert len(list(tmp_path.rglob("*.csv"))) == 1 and not list(tmp_path.rglob("*.json"))
    monkeypatch.undo()
    export(app, tmp_path)
    manifests_list_their_files(tmp_path)
    assert len(list(tmp_path.glob("run-*/manifest.json"))) == 2
    ledger_is_exactly_once(app, tmp_path, 2)


def test_a_file_goes_in_place_only_with_every_row_the_ledger_gave_it(app, seed, goal, tmp_path,
                                                                     monkeypatch):  # fmt: skip
    for _ in range(2):
        converted_lead(seed, goal, click_ids=(("msclkid", "microsoft", os.urandom(16).hex()),))
    add = files.StreamedFile.add
    monkeypatch.setattr(
        files.StreamedFile, "add", lambda streamed, records: add(streamed, records[1:])
    )
    with pytest.raises(ExportFailed, match="the ledger holds 2 rows, 1 written"):
        export(app, tmp_path)
    assert not list(tmp_path.rglob("*.csv")) and not list(tmp_path.rglob("*.tmp"))
    monkeypatch.undo()
    export(app, tmp_path)  # written from the ledger
    ledger_is_exactly_once(app, tmp_path, 2)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_runs_at_once_deliver_no_row_twice(app, database_url, old_goal, tmp_path):
    bulk_conversions(app, old_goal, 20_000)
    runs = [flask_export(database_url, tmp_path) for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in runs]
    codes = sorted(code for code, _ in results)
    assert codes in ([0, 0], [0, 75]), results
    if codes == [0, 75]:
        assert "another export is running" in dict((c, e) for c, e in results)[75]
    ledger_is_exactly_once(app, tmp_path, 20_000)


def test_the_command_reports_files_and_refuses_unknown_goals(app, runner, seed, goal, tmp_path):
    converted_lead(seed, goal)
    out = tmp_path / "out"
    refused = runner.invoke(args=["export", "run", "--goal", "Nope", "--out", str(out)])
    assert refused.exit_code == 2 and "no goal named Nope" in refused.output
    dry = runner.invoke(args=["export", "run", "--dry-run", "--out", str(out)])
    assert "Dry run" in dry.output and not out.exists()
    done = runner.invoke(args=["export", "run", "--platform", "microsoft", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert "microsoft-conversions.part1.csv  1 rows" in done.output
    status = runner.invoke(args=["export", "status"])
    assert "Lock: free" in status.output and "finished" in status.output
    assert "Closed won / microsoft: 1 exported" in status.output
    assert "Closed won / google: 0 exported\n  waiting: 1" in status.output
