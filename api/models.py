"""API tokens: what a CRM signs its calls with."""

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from database import UTCDateTime, db

SCOPES = {
    "conversions": "record, update and retract conversions",
    "leads:read": "look leads up by email, phone or click ID",
}
PREFIX = "clk_"  # tells a leaked token apart in logs, diffs and secret scanners


def token_digest(token: str) -> str:
    """Return what is stored of a token: its SHA-256 (tokens are random, so no salt)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class ApiToken(db.Model):
    """A named, scoped bearer token; only its digest is kept, shown once at creation."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    scopes: Mapped[str] = mapped_column(String(100))  # space-separated SCOPES keys
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @classmethod
    def issue(cls, name: str, scopes: list[str], now: datetime,
              created_by: int | None) -> tuple["ApiToken", str]:  # fmt: skip
        """Return a new token row and the token itself, which is never stored."""
        token = PREFIX + secrets.token_urlsafe(32)
        row = cls(name=name, scopes=" ".join(sorted(scopes)), digest=token_digest(token),
                  created_at=now, created_by=created_by)  # fmt: skip
        return row, token

    def allows(self, scope: str) -> bool:
        return scope in self.scopes.split()
