"""Recorded ad clicks: the trusted, server-side first-seen time of each click ID."""

from datetime import datetime
from functools import cache

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from database import UTCDateTime, db, upsert_insert


class Click(db.Model):
    __tablename__ = "clicks"
    __table_args__ = (UniqueConstraint("param", "click_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    param: Mapped[str] = mapped_column(String(16))
    click_id: Mapped[str] = mapped_column(String(255))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    landing_url: Mapped[str | None] = mapped_column(String(2048))


@cache
def insert_new_clicks(dialect: str):
    """Return an INSERT of clicks, rows given at execution, that skips click IDs already
    recorded; one statement per dialect, compiled once."""
    statement = upsert_insert(dialect, Click.__table__)
    return statement.on_conflict_do_nothing(index_elements=["param", "click_id"])
