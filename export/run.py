"""The nightly run: assign new rows to files in the ledger, then write the files.

Exactly once comes from the order of the work. Rows are first assigned to a file in the
ledger (a conversion or adjustment can be in one file per platform: the primary key says
so), batch by batch, each batch committed. Then each file is written from its ledger rows
to a temporary name and renamed into place. A run killed between the two leaves files
`pending`; the next run writes them before anything else, byte for byte the same.
"""

import hashlib
import json
import os
import re
import socket
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, update

from database import db
from export import lock, sources
from export.formats import FILE_KINDS
from export.models import ExportedAdjustment, ExportedConversion, ExportFile, ExportRun
from export.rules import adjustment, conversion_file
from leads.models import Goal

MAX_ROWS_PER_FILE = 100_000
LEASE = timedelta(minutes=2)
PLATFORMS = {
    # platform: (the goal's name for it, the goal's hashed / enhanced option)
    "microsoft": ("microsoft_goal_name", "microsoft_hashed"),
    "google": ("google_action_name", "google_enhanced"),
}


class ExportBusy(RuntimeError):
    """Another export holds the lock."""


class ExportFailed(RuntimeError):
    """The run stopped; nothing it had not written is marked written."""


@dataclass(frozen=True)
class WrittenFile:
    path: str
    kind: str
    part: int
    rows: int
    sha256: str | None


@dataclass
class Report:
    """What a run wrote (or, dry, would write) and what it held back or left out."""

    run_id: int | None = None
    files: list = field(default_factory=list)  # ExportFile while running, then WrittenFile
    rows: Counter = field(default_factory=Counter)  # by file kind
    skipped: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))

    def skip(self, kind: str, reason: str) -> None:
        self.skipped[kind][reason] += 1


def platform_goals(goal_names: Iterable[str] = (), platforms: Iterable[str] = ()):
    """Yield (goal, platform, conversion name, option) for each goal a platform is set up for."""
    names, chosen = set(goal_names), set(platforms) or set(PLATFORMS)
    for goal in db.session.scalars(select(Goal).order_by(Goal.id)):
        if names and goal.name not in names:
            continue
        for platform, (name_field, option_field) in PLATFORMS.items():
            if platform in chosen and getattr(goal, name_field):
                yield goal, platform, getattr(goal, name_field), getattr(goal, option_field)


def goal_slug(goal: Goal) -> str:
    """Return the goal's name as lower-case words joined by hyphens, safe in paths and URLs."""
    return re.sub(r"[^a-z0-9]+", "-", goal.name.lower()).strip("-")[:48] or f"goal-{goal.id}"


def file_path(run: ExportRun, goal: Goal, kind: str, part: int) -> str:
    """Return a file's path under the export folder: run folder, goal, kind, part."""
    return f"{run.folder}/{goal.id:03d}-{goal_slug(goal)}.{kind}.part{part}.csv"


class Assigner:
    """Put rows into the run's files for one goal and platform, 100,000 rows a file."""

    def __init__(self, run: ExportRun, goal: Goal, conversion_name: str, hashed: bool,
                 report: Report):  # fmt: skip
        self.run, self.goal, self.name, self.report = run, goal, conversion_name, report
        self.hashed = hashed
        self.current: dict[str, ExportFile] = {}

    def file(self, kind: str) -> ExportFile:
        current = self.current.get(kind)
        if current is None or current.rows >= MAX_ROWS_PER_FILE:
            part = current.part + 1 if current else 1
            current = ExportFile(run=self.run, goal_id=self.goal.id, kind=kind, part=part,
                                 conversion_name=self.name, rows=0, status="pending",
                                 optional_columns=kind == "microsoft-conversions"
                                 and self.hashed,
                                 path=file_path(self.run, self.goal, kind, part))  # fmt: skip
            db.session.add(current)
            db.session.flush()
            self.current[kind] = current
            self.report.files.append(current)
        current.rows += 1
        self.report.rows[kind] += 1
        return current


def assign(run: ExportRun | None, goal: Goal, platform: str, conversion_name: str,
           option: bool, now: datetime, report: Report) -> None:  # fmt: skip
    """Decide every unexported row of a goal for a platform; ledger the eligible ones.

    With no run (a dry run) nothing is written: the report only counts.
    """
    assigner = Assigner(run, goal, conversion_name, option, report) if run else None
    for batch in sources.unexported_conversions(goal.id, platform):
        ledger, duplicates = [], sources.earlier_duplicates(goal.id, platform, batch)
        for record in batch:
            facts = record.facts(platform, goal, duplicates.get(record.id))
            kind, decision = conversion_file(platform, facts, option, now)
            if decision.state != "eligible":
                report.skip(kind, decision.reason)
            elif assigner is None:
                report.rows[kind] += 1
            else:
                file = assigner.file(kind)
                if kind == "google-clicks" and record.key_param("google") != "gclid":
                    file.optional_columns = True  # the GBRAID and WBRAID columns
                ledger.append({"platform": platform, "conversion_id": record.id,
                               "file_id": file.id})  # fmt: skip
        if run:
            _commit_batch(ExportedConversion, ledger)
    kind = f"{platform}-adjustments"
    for batch in sources.unexported_adjustments(goal.id, platform):
        ledger = []
        for record in batch:
            decision = adjustment(platform, record.facts(run.id if run else None), now)
            if decision.state != "eligible":
                report.skip(kind, decision.reason)
            elif assigner is None:
                report.rows[kind] += 1
            else:
                ledger.append({"platform": platform, "adjustment_id": record.id,
                               "file_id": assigner.file(kind).id})  # fmt: skip
        if run:
            _commit_batch(ExportedAdjustment, ledger)


def _commit_batch(model, ledger: list[dict]) -> None:
    """Record a batch's rows in the ledger and renew the lease, in one transaction."""
    if ledger:
        db.session.execute(insert(model.__table__), ledger)
    lock.renew(LEASE)
    db.session.commit()


def file_rows(file: ExportFile) -> Iterator:
    """Yield a file's rows from the ledger, in ID order: the same bytes on every write."""
    platform = FILE_KINDS[file.kind].platform
    if FILE_KINDS[file.kind].subject == "conversion":
        for batch in sources.conversions_in_file(file.id):
            yield from (record.row(file.kind, file.conversion_name) for record in batch)
    else:
        for batch in sources.adjustments_in_file(file.id, platform):
            yield from (record.row(platform, file.conversion_name) for record in batch)


def write_atomically(final: str, write) -> tuple[str, int]:
    """Write through `write(stream)` to a temporary file, then rename it into place.

    Return the SHA-256 and size. A crash leaves at most a temporary file, never a half file
    under the final name.
    """
    folder = os.path.dirname(final)
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        digest, size = hashlib.sha256(), 0
        with open(temporary, "rb") as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
        os.replace(temporary, final)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return digest.hexdigest(), size


def write_file(file: ExportFile, out_dir: str, now: datetime) -> None:
    """Write a pending file from the ledger and mark it written (commits)."""
    kind = FILE_KINDS[file.kind]
    written = 0

    def counted(rows):
        nonlocal written
        for row in rows:
            written += 1
            yield row

    def write(stream):
        kind.write(stream, counted(file_rows(file)), file.optional_columns)

    file.sha256, file.size = write_atomically(os.path.join(out_dir, file.path), write)
    if written != file.rows:
        raise ExportFailed(f"{file.path}: the ledger holds {file.rows} rows, {written} written")
    file.status, file.written_at = "written", now
    lock.renew(LEASE)
    db.session.commit()


def write_manifest(run: ExportRun, out_dir: str) -> None:
    """Write the run's manifest.json: its files with rows and SHA-256, and its skips."""
    manifest = {
        "run": run.id,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "status": run.status,
        "files": [
            {"path": os.path.basename(f.path), "goal_id": f.goal_id, "kind": f.kind,
             "platform": FILE_KINDS[f.kind].platform, "conversion_name": f.conversion_name,
             "part": f.part, "rows": f.rows, "bytes": f.size, "sha256": f.sha256}
            for f in run.files if f.status == "written"
        ],
        "skipped": run.skipped,
    }  # fmt: skip
    path = os.path.join(out_dir, run.folder, "manifest.json")
    write_atomically(path, lambda stream: json.dump(manifest, stream, indent=2, sort_keys=True))


def check_writable(out_dir: str) -> None:
    """Fail before anything is assigned when the export folder cannot take files."""
    try:
        os.makedirs(out_dir, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir) as probe:
            probe.write(b"probe")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as error:
        raise ExportFailed(
            f"cannot write to the export folder {out_dir}: {error.strerror}"
        ) from error


def utcnow() -> datetime:
    return datetime.now(UTC)


def run_export(out_dir: str, goal_names: Iterable[str] = (), platforms: Iterable[str] = (),
               dry_run: bool = False, clock=utcnow) -> Report:  # fmt: skip
    """Run the export once; see the module docstring for how it stays exactly once."""
    report = Report()
    if dry_run:
        for goal, platform, name, option in list(platform_goals(goal_names, platforms)):
            assign(None, goal, platform, name, option, clock(), report)
        db.session.rollback()
        return report
    check_writable(out_dir)
    holder = lock.acquire(LEASE)
    if holder:
        raise ExportBusy(f"another export is running: {holder}")
    run = None
    try:
        db.session.execute(
            update(ExportRun).where(ExportRun.status == "running").values(status="interrupted")
        )
        run = ExportRun(started_at=clock(), host=socket.gethostname(), status="running",
                        skipped={})  # fmt: skip
        db.session.add(run)
        db.session.commit()
        report.run_id = run.id
        finish_pending(out_dir, clock)
        for goal, platform, name, option in list(platform_goals(goal_names, platforms)):
            assign(run, goal, platform, name, option, clock(), report)
        run.skipped = {kind: dict(reasons) for kind, reasons in sorted(report.skipped.items())}
        db.session.commit()
        for file in report.files:
            write_file(file, out_dir, clock())
        report.files = [WrittenFile(f.path, f.kind, f.part, f.rows, f.sha256)
                        for f in report.files]  # fmt: skip
        run.status, run.finished_at = "finished", clock()
        db.session.commit()
        write_manifest(run, out_dir)
    except Exception as error:
        db.session.rollback()
        if run is not None:
            run.status, run.error, run.finished_at = "failed", str(error)[:2000], clock()
            db.session.commit()
        if isinstance(error, OSError):
            raise ExportFailed(f"writing the export failed: {error}") from error
        raise
    finally:
        lock.release()
    return report


def finish_pending(out_dir: str, clock=utcnow) -> list[ExportFile]:
    """Write the files a killed or failed run left pending, and their runs' manifests."""
    pending = db.session.scalars(
        select(ExportFile).where(ExportFile.status == "pending").order_by(ExportFile.id)
    ).all()
    for file in pending:
        write_file(file, out_dir, clock())
    for run in {file.run for file in pending}:
        write_manifest(run, out_dir)
    return pending
