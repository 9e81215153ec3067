"""A person's data (GDPR art. 15): their leads found by email or phone, and everything
stored about them, as JSON."""

from datetime import datetime

from sqlalchemy import or_, select

from api.matching import lead_condition
from database import db
from leads.models import Lead
from staff.models import AuditEvent

MAX_LEADS = 500


def persons_leads(email: str | None, phone: str | None, default_country: str) -> list[Lead]:
    """Return the leads with this email (as the API matches it) or phone, newest first."""
    conditions = [lead_condition(key, value, default_country)
                  for key, value in (("email", email), ("phone", phone)) if value]  # fmt: skip
    if not conditions:
        return []
    return list(db.session.scalars(
        select(Lead).where(or_(*conditions)).order_by(Lead.created_at.desc()).limit(MAX_LEADS)
    ))  # fmt: skip


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def lead_data(lead: Lead) -> dict:
    """Return every stored field of a lead, with its click IDs, conversions and history."""
    columns = {column.key: getattr(lead, column.key) for column in Lead.__table__.columns}
    fields = {key: _time(value) if isinstance(value, datetime) else value
              for key, value in columns.items()}  # fmt: skip
    history = db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "lead", AuditEvent.object_id == lead.id
    ).order_by(AuditEvent.id))  # fmt: skip
    return {
        **fields,
        "click_ids": [{"param": c.param, "value": c.value, "valid": c.valid,
                       "first_seen": _time(c.click.first_seen) if c.click else None}
                      for c in lead.click_ids],
        "conversions": [
            {"id": c.id, "goal": c.goal.name, "converted_at": _time(c.converted_at),
             "value": None if c.value is None else str(c.value), "currency": c.currency,
             "external_id": c.external_id, "recorded_at": _time(c.created_at),
             "adjustments": [{"kind": a.kind, "at": _time(a.adjusted_at),
                              "value": None if a.value is None else str(a.value),
                              "currency": a.currency} for a in c.adjustments]}
            for c in lead.conversions
        ],
        "history": [{"at": _time(e.at), "action": e.action, "old": e.old, "new": e.new}
                    for e in history],
    }  # fmt: skip


def persons_data(leads: list[Lead], now: datetime) -> dict:
    """Return the hand-over document: when it was made, and each lead's data."""
    return {"generated_at": now.isoformat(), "leads": [lead_data(lead) for lead in leads]}
