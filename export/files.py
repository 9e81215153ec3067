"""Upload files on disk: written to a temporary name as the run assigns their rows (or
later, from the ledger), then renamed, so a crash never leaves a half file under a final
name; and the leftovers of a killed run."""

import contextlib
import glob
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta

from database import db
from export import lock, sources
from export.formats import FILE_KINDS
from export.models import ExportFile, ExportRun
from export.platforms import PLATFORMS

TEMPORARY = (".", ".tmp")  # prefix and suffix of a file being written


class ExportFailed(RuntimeError):
    """The run stopped; nothing it had not written is marked written."""


def ledger_batches(file: ExportFile) -> Iterator[list]:
    """Yield the records the ledger put in a file, in ID order, batch by batch."""
    kind = FILE_KINDS[file.kind]
    platform = PLATFORMS[kind.platform]
    if kind.subject == "conversion":
        return sources.conversions_in_file(file.id, platform.name)
    return sources.adjustments_in_file(file.id, platform)


class AtomicFile:
    """A file written under a temporary name and renamed into place once complete, so a
    crash never leaves a half file under the final name: at most a temporary file."""

    def __init__(self, final: str):
        self.final, folder = final, os.path.dirname(final)
        os.makedirs(folder, exist_ok=True)
        handle, self.temporary = tempfile.mkstemp(dir=folder, prefix=TEMPORARY[0],
                                                  suffix=TEMPORARY[1])  # fmt: skip
        self.stream = os.fdopen(handle, "w", encoding="utf-8", newline="")

    def commit(self) -> tuple[str, int]:
        """Put the file in place, on disk; return its SHA-256 and size."""
        try:
            self.stream.flush()
            os.fsync(self.stream.fileno())
            self.stream.close()
            digest, size = hashlib.sha256(), 0
            with open(self.temporary, "rb") as stream:
                while chunk := stream.read(1 << 20):
                    digest.update(chunk)
                    size += len(chunk)
            os.replace(self.temporary, self.final)
        except BaseException:
            self.discard()
            raise
        directory = os.open(os.path.dirname(self.final), os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return digest.hexdigest(), size

    def discard(self) -> None:
        """Close and delete the temporary file (a full disk that refused its rows refuses
        the rest of them again on closing: deleted all the same)."""
        try:
            self.stream.close()
        except OSError:
            pass
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.temporary)


def write_atomically(final: str, write) -> tuple[str, int]:
    """Write through `write(stream)` to a temporary file, then rename it into place.

    Return the SHA-256 and size.
    """
    file = AtomicFile(final)
    try:
        write(file.stream)
    except BaseException:
        file.discard()
        raise
    return file.commit()


class StreamedFile:
    """A pending file's rows, written to a temporary file batch by batch (as the run
    assigns them, or from the ledger); write_file() puts it in place."""

    def __init__(self, file: ExportFile, out_dir: str):
        kind = FILE_KINDS[file.kind]
        self.platform, self.kind = PLATFORMS[kind.platform], file.kind
        self.name = file.conversion_name
        self.optional = file.optional_columns  # the columns the rows are written with
        self.atomic = AtomicFile(os.path.join(out_dir, file.path))
        try:
            self.write_rows = kind.start(self.atomic.stream, self.optional)
        except BaseException:
            self.atomic.discard()
            raise
        self.rows = 0
        self.hashes = False  # whether a row carries a lead's hashed email or phone

    def add(self, records: list) -> None:
        """Write records (the ledger's latest batch of the file) as rows."""
        rows = [record.row(self.platform, self.kind, self.name) for record in records]
        self.hashes = self.hashes or any(
            getattr(row, "email_sha256", None) or getattr(row, "phone_sha256", None) for row in rows
        )
        self.write_rows(rows)
        self.rows += len(rows)


def write_file(file: ExportFile, out_dir: str, now: datetime, lease: timedelta,
               streamed: StreamedFile | None = None) -> None:  # fmt: skip
    """Put a pending file in place and mark it written (commits): the rows the run streamed
    while it assigned them or, without them, the file's rows read from the ledger.

    Streamed rows are as the run read them: the file is written from the ledger instead
    when a later row gave it more columns (a Google click file's GBRAID and WBRAID), or
    when a lead whose hashes it carries was erased meanwhile. A file goes in place only
    with as many rows as the ledger gives it.
    """
    if streamed is not None and (
        streamed.optional != file.optional_columns
        or (streamed.hashes and sources.erased_in_file(file.id))
    ):
        streamed.atomic.discard()
        streamed = None
    if streamed is None:
        streamed = StreamedFile(file, out_dir)
        try:
            for batch in ledger_batches(file):
                streamed.add(batch)
        except BaseException:
            streamed.atomic.discard()
            raise
    ledgered = sources.ledger_rows(file.id, FILE_KINDS[file.kind].subject)
    if streamed.rows != ledgered:
        streamed.atomic.discard()
        raise ExportFailed(f"{file.path}: the ledger holds {ledgered} rows, {streamed.rows} "
                           "written")  # fmt: skip
    file.sha256, file.size = streamed.atomic.commit()
    file.status, file.written_at = "written", now
    lock.renew(lease)
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
    path = manifest_path(run, out_dir)
    write_atomically(path, lambda stream: json.dump(manifest, stream, indent=2, sort_keys=True))


def manifest_path(run: ExportRun, out_dir: str) -> str:
    return os.path.join(out_dir, run.folder, "manifest.json")


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


def remove_leftovers(out_dir: str) -> list[str]:
    """Delete the temporary files a killed run left in the run folders; return their paths.

    Called under the export lock, so no run is writing one of them now.
    """
    pattern = os.path.join(glob.escape(out_dir), "run-*", f"{TEMPORARY[0]}*{TEMPORARY[1]}")
    leftovers = glob.glob(pattern, include_hidden=True)
    for path in leftovers:
        os.unlink(path)
    return leftovers
