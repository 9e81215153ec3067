"""Stored leads and the click IDs they arrived with."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    delete,
    event,
    insert,
    inspect,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from capture.models import Click
from database import UTCDateTime, db
from leads.contact import search_words

STATUSES = ("new", "spam", "quarantined")  # what staff may set
ERASED = "erased"  # a lead whose personal data was erased: for good, never exported again
MONEY = Numeric(15, 3)
# Byte-order text on PostgreSQL, so that a prefix search is a range scan of the index.
SEARCH_TEXT = String(254).with_variant(String(254, collation="C"), "postgresql")
SEARCH_WORD = String(100).with_variant(String(100, collation="C"), "postgresql")
CLICK_ID_TEXT = String(500).with_variant(String(500, collation="C"), "postgresql")


class Lead(db.Model):
    __tablename__ = "leads"
    __table_args__ = (
        UniqueConstraint("idempotency_key", "fingerprint"),
        Index("ix_leads_created_at_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)

    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    company: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(String(2))
    # The lowercased email and the E.164 phone: what staff search by (names by their words).
    email_search: Mapped[str | None] = mapped_column(SEARCH_TEXT, index=True)
    phone_e164: Mapped[str | None] = mapped_column(String(20), index=True)
    # Also how a CRM's email finds the lead: Google's normalisation is the API's matching.
    email_sha256_google: Mapped[str | None] = mapped_column(String(64), index=True)
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
    conversions: Mapped[list["Conversion"]] = relationship(
        back_populates="lead", order_by="Conversion.converted_at"
    )


class LeadSearchWord(db.Model):
    """A word of a lead's name or company, as search_words() spells it: what staff find it by."""

    __tablename__ = "lead_search_words"
    # By lead too, word included: a second word of a search is checked from the index alone.
    __table_args__ = (Index("ix_lead_search_words_lead_id_word", "lead_id", "word"),)

    word: Mapped[str] = mapped_column(SEARCH_WORD, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"),
                                         primary_key=True)  # fmt: skip


@event.listens_for(Lead, "after_insert")
@event.listens_for(Lead, "after_update")
def keep_search_words(mapper, connection, lead: Lead) -> None:
    """Keep a lead's search words in step with its name and company, however it is saved."""
    state = inspect(lead)
    if not (state.attrs.name.history.has_changes() or state.attrs.company.history.has_changes()):
        return
    table = LeadSearchWord.__table__
    connection.execute(delete(table).where(table.c.lead_id == lead.id))
    words = search_word_rows(lead.id, lead.name, lead.company)
    if words:
        connection.execute(insert(table), words)


def search_word_rows(lead_id: int, name: str | None, company: str | None) -> list[dict]:
    """Return the search-word rows of a lead with this name and company (pure)."""
    return [{"lead_id": lead_id, "word": word} for word in search_words(name, company)]


class LeadClickId(db.Model):
    """A click ID as the lead sent it; invalid ones are kept but never exported."""

    __tablename__ = "lead_click_ids"
    __table_args__ = (UniqueConstraint("lead_id", "param"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    param: Mapped[str] = mapped_column(String(16))
    platform: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(CLICK_ID_TEXT, index=True)  # found by prefix
    valid: Mapped[bool] = mapped_column(Boolean)
    click_ref: Mapped[int | None] = mapped_column(ForeignKey("clicks.id"), index=True)

    lead: Mapped[Lead] = relationship(back_populates="click_ids")
    click: Mapped[Click | None] = relationship()


class Goal(db.Model):
    """A conversion goal, with the exact names each platform's files must use."""

    __tablename__ = "goals"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    microsoft_goal_name: Mapped[str | None] = mapped_column(String(100))
    google_action_name: Mapped[str | None] = mapped_column(String(100))
    microsoft_hashed: Mapped[bool] = mapped_column(Boolean, default=False)
    google_enhanced: Mapped[bool] = mapped_column(Boolean, default=False)
    default_value: Mapped[Decimal | None] = mapped_column(MONEY)
    default_currency: Mapped[str | None] = mapped_column(String(3))
    window_days: Mapped[int] = mapped_column(Integer, default=90)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Conversion(db.Model):
    """A lead that became a customer for a goal, at a time, for a value."""

    __tablename__ = "conversions"
    __table_args__ = (UniqueConstraint("lead_id", "goal_id", "converted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("goals.id"), index=True)
    converted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    value: Mapped[Decimal | None] = mapped_column(MONEY)
    currency: Mapped[str | None] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    # The CRM's id of the deal, when a CRM recorded it (the API, a CSV import).
    external_id: Mapped[str | None] = mapped_column(String(200), index=True, unique=True)

    lead: Mapped[Lead] = relationship(back_populates="conversions")
    goal: Mapped[Goal] = relationship()
    adjustments: Mapped[list["Adjustment"]] = relationship(
        back_populates="conversion", order_by="Adjustment.adjusted_at"
    )

    @property
    def retracted(self) -> bool:
        return any(a.kind == "retract" for a in self.adjustments)

    @property
    def current_value(self) -> Decimal | None:
        """Return the value after the latest restatement."""
        restated = [a for a in self.adjustments if a.kind == "restate"]
        return restated[-1].value if restated else self.value

    @property
    def current_currency(self) -> str | None:
        """Return the currency after the latest restatement."""
        restated = [a for a in self.adjustments if a.kind == "restate"]
        return restated[-1].currency if restated else self.currency


class Adjustment(db.Model):
    """A restatement (new total value) or retraction of a conversion."""

    __tablename__ = "adjustments"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversion_id: Mapped[int] = mapped_column(ForeignKey("conversions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[Decimal | None] = mapped_column(MONEY)
    currency: Mapped[str | None] = mapped_column(String(3))
    adjusted_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    conversion: Mapped[Conversion] = relationship(back_populates="adjustments")
