"""Which lead a CRM means: by the id intake answered, an email, a phone or a click ID.

Emails match as Google normalises them for its hashes (any case; Gmail addresses also
without dots and +suffix), phones in E.164 (national numbers in the default country).
"""

from datetime import datetime, timedelta

from marshmallow import ValidationError
from sqlalchemy import false
from werkzeug.exceptions import NotFound

from capture.params import CLICK_ID_PARAMS
from database import db
from leads.contact import e164_phone, google_email, sha256_hex
from leads.conversion_rules import to_second
from leads.models import Lead, LeadClickId

CLICK_ID_KEYS = tuple(param.name for param in CLICK_ID_PARAMS)
LEAD_KEYS = ("lead_id", "email", "phone", *CLICK_ID_KEYS)


def lead_condition(key: str, value: str, default_country: str):
    """Return the condition a lead meets when `key` (a LEAD_KEYS name) is `value`."""
    if key == "lead_id":
        return Lead.public_id == value
    if key == "email":
        normalised = google_email(value)
        return Lead.email_sha256_google == sha256_hex(normalised) if normalised else false()
    if key == "phone":
        phone = e164_phone(value, default_country)
        return Lead.phone_e164 == phone if phone else false()
    return Lead.id.in_(
        db.select(LeadClickId.lead_id).where(LeadClickId.param == key, LeadClickId.value == value)
    )


def matching_leads(key: str, value: str, default_country: str, limit: int = 100) -> list[Lead]:
    """Return the leads matching, newest first."""
    return list(db.session.scalars(
        db.select(Lead).where(lead_condition(key, value, default_country))
        .order_by(Lead.created_at.desc(), Lead.id.desc()).limit(limit)
    ))  # fmt: skip


def lead_for(key: str, value: str, converted_at: datetime, default_country: str) -> Lead:
    """Return the lead a conversion at `converted_at` belongs to: of several matching, the
    latest that arrived before it (to the second, as entry compares). NotFound when none
    matches; ValidationError (on converted_at) when none had arrived by then."""
    condition = lead_condition(key, value, default_country)
    arrived_by = to_second(converted_at) + timedelta(seconds=1)
    lead = db.session.scalars(
        db.select(Lead).where(condition, Lead.created_at < arrived_by)
        .order_by(Lead.created_at.desc(), Lead.id.desc()).limit(1)
    ).first()  # fmt: skip
    if lead is not None:
        return lead
    if db.session.scalar(db.select(Lead.id).where(condition).limit(1)) is None:
        raise NotFound(f"No lead has this {key.replace('_', ' ')}.")
    raise ValidationError(
        {"converted_at": [f"No lead with this {key.replace('_', ' ')} had arrived by then."]}
    )
