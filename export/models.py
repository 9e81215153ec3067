"""The export ledger (what went into which file), its runs, its lock, and the feeds."""

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from database import UTCDateTime, db


class ExportRun(db.Model):
    """One `flask export run`: what it wrote and what it skipped, with the reasons."""

    __tablename__ = "export_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    host: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="running")  # finished, failed, …
    error: Mapped[str | None] = mapped_column(Text)
    # {file kind: {reason: count}}: the rows this run excluded for good, and those it held.
    skipped: Mapped[dict] = mapped_column(JSON, default=dict)

    files: Mapped[list["ExportFile"]] = relationship(back_populates="run", order_by="ExportFile.id")

    @property
    def skipped_rows(self) -> int:
        return sum(sum(reasons.values()) for reasons in self.skipped.values())

    @property
    def folder(self) -> str:
        return f"run-{self.id:06d}"


class ExportFile(db.Model):
    """One upload file; its rows are the ledger entries that point at it.

    A file is `pending` from the moment rows are assigned to it until it is on disk under
    its final name; a later run writes any file a killed run left pending.
    """

    __tablename__ = "export_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("export_runs.id"), index=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("goals.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    part: Mapped[int] = mapped_column(Integer)
    conversion_name: Mapped[str] = mapped_column(String(100))
    optional_columns: Mapped[bool] = mapped_column(Boolean, default=False)
    path: Mapped[str] = mapped_column(String(255), unique=True)  # relative to the export folder
    rows: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # or "written"
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(Integer)
    written_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    run: Mapped[ExportRun] = relationship(back_populates="files")


class ExportedConversion(db.Model):
    """A conversion's one file per platform: the key makes a second delivery impossible."""

    __tablename__ = "exported_conversions"
    __table_args__ = (Index("ix_exported_conversions_file", "file_id", "conversion_id"),)

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    conversion_id: Mapped[int] = mapped_column(ForeignKey("conversions.id"), primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("export_files.id"))

    file: Mapped[ExportFile] = relationship()


class ExportedAdjustment(db.Model):
    """An adjustment's one file per platform."""

    __tablename__ = "exported_adjustments"
    __table_args__ = (Index("ix_exported_adjustments_file", "file_id", "adjustment_id"),)

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    adjustment_id: Mapped[int] = mapped_column(ForeignKey("adjustments.id"), primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("export_files.id"))

    file: Mapped[ExportFile] = relationship()


class ExcludedConversion(db.Model):
    """A conversion no file will take on a platform: recorded once, by the run that found it."""

    __tablename__ = "excluded_conversions"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    conversion_id: Mapped[int] = mapped_column(ForeignKey("conversions.id"), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("export_runs.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))  # an export.rules.EXCLUSIONS key
    reason: Mapped[str] = mapped_column(String(255))


class ExcludedAdjustment(db.Model):
    """An adjustment no file will take on a platform."""

    __tablename__ = "excluded_adjustments"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    adjustment_id: Mapped[int] = mapped_column(ForeignKey("adjustments.id"), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("export_runs.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(255))


class ExportMark(db.Model):
    """How far a goal's conversions are settled on a platform: every conversion with a
    smaller ID is in a file or excluded for good, so a run starts reading at this one."""

    __tablename__ = "export_marks"

    goal_id: Mapped[int] = mapped_column(ForeignKey("goals.id"), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    settled_below: Mapped[int] = mapped_column(Integer)


class ExportLock(db.Model):
    """A lease held by the running export, renewed as it works; one row per lock name."""

    __tablename__ = "export_locks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(255))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Feed(db.Model):
    """A URL an ad platform fetches on its schedule, with HTTP Basic credentials."""

    __tablename__ = "feeds"
    __table_args__ = (UniqueConstraint("platform", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    slug: Mapped[str] = mapped_column(String(64))
    goal_id: Mapped[int] = mapped_column(ForeignKey("goals.id"), index=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    goal = relationship("Goal")


class FeedFetch(db.Model):
    """One request for a feed, answered or refused (no credentials are stored)."""

    __tablename__ = "feed_fetches"

    id: Mapped[int] = mapped_column(primary_key=True)
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id"), index=True)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[int] = mapped_column(Integer)
    rows: Mapped[int | None] = mapped_column(Integer)
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))
