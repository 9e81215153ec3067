"""Staff users, their invitations, and the append-only audit trail."""

import secrets
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from database import UTCDateTime, db

ROLES = ("admin", "sales", "viewer")
# What each role may do beyond reading: sales change leads and conversions, admins all.
EDITORS = ("admin", "sales")


class StaffUser(db.Model):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))
    timezone: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(256))
    # Changes with the password: signs out every session and voids reset links.
    session_nonce: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def set_password(self, password: str) -> None:
        """Store a salted hash of the password and end the user's other sessions."""
        self.password_hash = generate_password_hash(password)
        self.session_nonce = secrets.token_hex(16)

    def check_password(self, password: str) -> bool:
        """Tell whether the password matches, in constant time."""
        return check_password_hash(self.password_hash, password)

    @property
    def can_edit(self) -> bool:
        return self.role in EDITORS


class StaffSession(db.Model):
    """A signed-in browser. Its cookie names the row; signing out deletes it, so a copied
    cookie stops working too."""

    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # random
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Invitation(db.Model):
    """A single-use, expiring invitation link for a new staff member."""

    __tablename__ = "staff_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEvent(db.Model):
    """Who did what to which object, with the old and new values. Only ever inserted."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))  # an API call
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int] = mapped_column()
    old: Mapped[dict | None] = mapped_column(JSON)
    new: Mapped[dict | None] = mapped_column(JSON)

    actor: Mapped[StaffUser | None] = relationship()
    token: Mapped["ApiToken | None"] = relationship()  # noqa: F821 - api.models
