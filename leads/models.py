"""Stored leads and the click IDs they arrived with."""

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from capture.models import Click
from database import UTCDateTime, db

STATUSES = ("new", "spam", "quarantined")


class Lead(db.Model):
    __tablename__ = "leads"
    __table_args__ = (UniqueConstraint("idempotency_key", "fingerprint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)

    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    company: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(String(2))
    # Lowercased email and E.164 phone: what staff search by.
    email_search: Mapped[str | None] = mapped_column(String(254), index=True)
    phone_e164: Mapped[str | None] = mapped_column(String(20), index=True)
    email_sha256_google: Mapped[str | None] = mapped_column(String(64))
    email_sha256_microsoft: Mapped[str | None] = mapped_column(String(64))
    phone_sha256: Mapped[str | None] = mapped_column(String(64))

    ad_user_data: Mapped[str | None] = mapped_column(String(8))
    ad_personalization: Mapped[str | None] = mapped_column(String(8))
    attribution: Mapped[dict] = mapped_column(JSON, default=dict)
    extra: Mapped[dict] = mapped_column(JSON, default=dict)
    landing_url: Mapped[str | None] = mapped_column(String(2048))
    referrer: Mapped[str | None] = mapped_column(String(2048))
    origin: Mapped[str | None] = mapped_column(String(255))

    # The form's submission id (or Idempotency-Key) with a digest of the content: the same
    # post twice is one lead, and a resubmission with changed fields is a lead of its own.
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))

    click_ids: Mapped[list["LeadClickId"]] = relationship(
        back_populates="lead", cascade="all, delete-orphan", order_by="LeadClickId.param"
    )


class LeadClickId(db.Model):
    """A click ID as the lead sent it; invalid ones are kept but never exported."""

    __tablename__ = "lead_click_ids"
    __table_args__ = (UniqueConstraint("lead_id", "param"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    param: Mapped[str] = mapped_column(String(16))
    platform: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(500), index=True)
    valid: Mapped[bool] = mapped_column(Boolean)
    click_ref: Mapped[int | None] = mapped_column(ForeignKey("clicks.id"), index=True)

    lead: Mapped[Lead] = relationship(back_populates="click_ids")
    click: Mapped[Click | None] = relationship()
