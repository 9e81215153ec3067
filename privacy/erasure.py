"""Erase a lead's personal data (GDPR art. 17), keeping its conversions countable.

The lead keeps its id, arrival time, click IDs and conversions, so the funnel and the
files already written still add up; its status becomes "erased", which the export's one
rule excludes from every later file and feed. Nothing here commits.
"""

from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import select

from database import db
from leads.models import ERASED, Lead
from staff.audit import record
from staff.models import AuditEvent

# Every column that holds what the person typed, or a digest of it.
PERSONAL_COLUMNS = ("name", "email", "phone", "company", "message", "email_search",
                    "phone_e164", "email_sha256_google", "email_sha256_microsoft",
                    "phone_sha256", "idempotency_key")  # fmt: skip


def without_query(url: str | None) -> str | None:
    """Return the address without its query string and fragment (where forms put names)."""
    if not url:
        return url
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def erase_lead(lead: Lead, now: datetime) -> None:
    """Remove the lead's personal data from its row, its search words and its audit entries."""
    for column in PERSONAL_COLUMNS:
        setattr(lead, column, None)
    lead.extra = {}
    lead.landing_url, lead.referrer = without_query(lead.landing_url), without_query(lead.referrer)
    lead.fingerprint = ERASED  # a digest of what was posted
    lead.status = ERASED  # its search words go with its name (leads.models keeps them)
    for event in db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "lead", AuditEvent.object_id == lead.id
    )):  # fmt: skip
        event.old, event.new = _scrubbed(event.old), _scrubbed(event.new)
    record("lead.erase", "lead", lead.id, None, {"erased_at": now.isoformat()})


def _scrubbed(values: dict | None) -> dict | None:
    if not values:
        return values
    return {key: None if key in PERSONAL_COLUMNS else value for key, value in values.items()}
