"""Deciding a goal's undecided rows on a platform, ledgering them into files 100,000 rows a
file, and writing each committed batch's rows on to its files (export/run.py orders the
work so that it stays exactly once)."""

import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import insert

from database import db
from export import fates, lock, marks, sources
from export.facts import key_param
from export.files import StreamedFile, write_file
from export.lock import LEASE
from export.models import (
    ExcludedAdjustment,
    ExcludedConversion,
    ExportedAdjustment,
    ExportedConversion,
    ExportFile,
    ExportRun,
)
from export.platforms import Platform
from export.rules import EXCLUSIONS
from leads.models import Goal

MAX_ROWS_PER_FILE = 100_000


@dataclass
class Report:
    """What a run wrote (or, dry, would write) and what it held back or left out."""

    run_id: int | None = None
    files: list = field(default_factory=list)  # ExportFile while running, then WrittenFile
    rows: Counter = field(default_factory=Counter)  # going out, by file kind
    skipped: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    leftovers: list[str] = field(default_factory=list)  # temporary files a killed run left

    def skip(self, kind: str, reason: str) -> None:
        self.skipped[kind][reason] += 1


def goal_slug(goal: Goal) -> str:
    """Return the goal's name as lower-case words joined by hyphens, safe in paths and URLs."""
    return re.sub(r"[^a-z0-9]+", "-", goal.name.lower()).strip("-")[:48] or f"goal-{goal.id}"


def file_path(run: ExportRun, goal: Goal, kind: str, part: int) -> str:
    """Return a file's path under the export folder: run folder, goal, kind, part."""
    return f"{run.folder}/{goal.id:03d}-{goal_slug(goal)}.{kind}.part{part}.csv"


@dataclass
class RunFiles:
    """The files a real run writes: its run, its folder, and the temporary files of the
    files whose rows it is writing."""

    run: ExportRun
    out_dir: str
    clock: Callable[[], datetime]
    streams: dict[int, StreamedFile] = field(default_factory=dict)  # by file ID

    def discard(self) -> None:
        """Delete the temporary files of the files not put in place."""
        for streamed in self.streams.values():
            streamed.atomic.discard()
        self.streams.clear()


class Assigner:
    """Put rows into the run's files for one goal and platform, 100,000 rows a file.

    Rows are counted here and stored on the files once a batch (count()): a model attribute
    set for every row costs more than deciding the row.
    """

    def __init__(self, run_files: RunFiles, goal: Goal, platform: Platform, report: Report):
        self.run_files, self.run, self.report = run_files, run_files.run, report
        self.goal, self.platform = goal, platform
        self.current: dict[str, ExportFile] = {}
        self.ids: dict[str, int] = {}
        self.rows: dict[str, int] = {}
        self.files: dict[int, ExportFile] = {}

    def file_id(self, kind: str) -> int:
        """Return the file the next row of a kind goes to; start a part when one is full."""
        if self.rows.get(kind, MAX_ROWS_PER_FILE) >= MAX_ROWS_PER_FILE:
            self.count()
            current = self.current.get(kind)
            part = current.part + 1 if current else 1
            # Hashed columns on a click file (Microsoft's), when the goal uses them.
            hashed = kind == self.platform.click_file == self.platform.hashed_file and bool(
                self.platform.option(self.goal)
            )
            current = ExportFile(run=self.run, goal_id=self.goal.id, kind=kind, part=part,
                                 conversion_name=self.platform.goal_name(self.goal), rows=0,
                                 status="pending", optional_columns=hashed,
                                 path=file_path(self.run, self.goal, kind, part))  # fmt: skip
            db.session.add(current)
            db.session.flush()
            self.current[kind], self.ids[kind], self.rows[kind] = current, current.id, 0
            self.files[current.id] = current
            self.report.files.append(current)
        self.rows[kind] += 1
        return self.ids[kind]

    def count(self) -> None:
        """Store each current file's row count on it."""
        for kind, file in self.current.items():
            file.rows = self.rows[kind]

    def write_batch(self, batch: dict[int, list]) -> None:
        """Write a committed batch's records, by file ID, on to their files."""
        streams = self.run_files.streams
        for file_id, records in batch.items():
            if (streamed := streams.get(file_id)) is None:
                streamed = streams[file_id] = StreamedFile(self.files[file_id],
                                                           self.run_files.out_dir)  # fmt: skip
            streamed.add(records)

    def finish(self) -> None:
        """Put the goal's files on the platform in place: every row of theirs is assigned."""
        streams = self.run_files.streams
        for file in self.files.values():
            write_file(file, self.run_files.out_dir, self.run_files.clock(), LEASE,
                       streams.get(file.id))  # fmt: skip
            streams.pop(file.id, None)


def assign(run_files: RunFiles | None, goal: Goal, platform: Platform, now: datetime,
           report: Report) -> None:  # fmt: skip
    """Decide every undecided row of a goal for a platform, ledger what is decided, and
    write the goal's files on the platform.

    Rows that go out are assigned to a file; rows excluded for good are recorded as such,
    once, so later runs neither decide nor count them again. Without run files (a dry
    run) nothing is written: the report only counts.
    """
    assigner = Assigner(run_files, goal, platform, report) if run_files else None
    start, lowest_held = marks.settled_below(goal.id, platform.name), None
    for batch in sources.undecided_conversions(goal.id, platform.name, start):
        decided = fates.decide_conversions(goal, platform, batch, now)
        held = [record.id for record, _, fate in decided if fate.state == "held"]
        if held and lowest_held is None:  # batches come in ID order
            lowest_held = held[0]
        _ledger(assigner, report, decided, ExportedConversion, ExcludedConversion)
    if assigner is not None:
        marks.advance(goal.id, platform.name, start, lowest_held, now)
        db.session.commit()
    for batch in sources.undecided_adjustments(goal.id, platform):
        run_id = run_files.run.id if run_files else None
        decided = fates.decide_adjustments(platform, batch, now, run_id)
        _ledger(assigner, report, decided, ExportedAdjustment, ExcludedAdjustment)
    if assigner is not None:
        assigner.finish()


def _ledger(assigner: Assigner | None, report: Report, decided, exported, excluded) -> None:
    """Count a batch's fates and, in a real run, record them in one transaction, then
    write the rows going out on to their files."""
    key = "conversion_id" if exported is ExportedConversion else "adjustment_id"
    platform = assigner.platform.name if assigner else ""
    run_id = assigner.run.id if assigner else None
    rows: dict = {exported: [], excluded: []}
    going_out: dict[int, list] = defaultdict(list)  # records, by file ID
    for record, kind, fate in decided:
        if fate.state == "held":
            report.skip(kind, f"held: {fate.reason}")
        elif fate.state == "excluded":
            report.skip(kind, f"excluded: {EXCLUSIONS[fate.code]}")
            rows[excluded].append({"platform": platform, key: record.id, "run_id": run_id,
                                   "code": fate.code, "reason": fate.reason[:255]})  # fmt: skip
        else:
            report.rows[kind] += 1
            if assigner is not None:
                file_id = assigner.file_id(kind)
                if (
                    kind == "google-clicks"
                    and key_param(assigner.platform, record.click_ids) != "gclid"
                ):
                    assigner.current[kind].optional_columns = True  # GBRAID and WBRAID columns
                rows[exported].append({"platform": platform, key: record.id, "file_id": file_id})
                going_out[file_id].append(record)
    if assigner is None:
        return
    assigner.count()
    for model, ledger in rows.items():
        if ledger:
            db.session.execute(insert(model.__table__), ledger)
    lock.renew(LEASE)
    db.session.commit()
    assigner.write_batch(going_out)
