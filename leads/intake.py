"""Store a submitted lead: the rows it becomes, idempotency and links to recorded clicks."""

import secrets
from datetime import datetime

from sqlalchemy import tuple_
from sqlalchemy.exc import IntegrityError

from capture.models import Click
from capture.params import PARAMS_BY_KEY, is_valid
from database import db
from leads.contact import e164_phone, email_hashes, sha256_hex
from leads.models import Lead, LeadClickId
from leads.submission import Submission

CLICK_ID_MAX = 500


def lead_values(fields: dict, submission: Submission, default_country: str) -> dict:
    """Return the columns of a lead from its validated fields (pure)."""
    email, phone = fields.get("email"), fields.get("phone")
    phone_e164 = e164_phone(phone, fields.get("country") or default_country) if phone else None
    return {
        **fields,
        **email_hashes(email),
        # lower() can lengthen text ("İ" becomes two characters); the column holds 254.
        "email_search": email.lower()[:254] if email else None,
        "phone_e164": phone_e164,
        "phone_sha256": sha256_hex(phone_e164) if phone_e164 else None,
        "attribution": {k: v for k, v in submission.params.items() if not _is_click_id(k)},
        "extra": submission.extra,
    }


def click_id_rows(params: dict[str, str]) -> list[dict]:
    """Return the lead's click IDs, each flagged valid or not (pure)."""
    return [
        {
            "param": name,
            "platform": PARAMS_BY_KEY[name.lower()].platform,
            "value": value[:CLICK_ID_MAX],
            "valid": is_valid(PARAMS_BY_KEY[name.lower()], value),
        }
        for name, value in params.items()
        if _is_click_id(name)
    ]


def _is_click_id(name: str) -> bool:
    return PARAMS_BY_KEY[name.lower()].is_click_id


def find_replay(key: str | None, fingerprint: str) -> Lead | None:
    """Return the lead this exact post already created, if any."""
    if key is None:
        return None
    return db.session.execute(
        db.select(Lead).where(Lead.idempotency_key == key, Lead.fingerprint == fingerprint)
    ).scalar_one_or_none()


def store_lead(values: dict, click_ids: list[dict], key: str | None, fingerprint: str,
               now: datetime) -> tuple[Lead, bool]:  # fmt: skip
    """Insert the lead and commit; return it and whether it was a replay of an earlier post.

    Inserting first and reading only on a conflict keeps the common case to one write.
    """
    lead = Lead(
        public_id=secrets.token_hex(16),
        created_at=now,
        idempotency_key=key,
        fingerprint=fingerprint,
        **values,
    )
    lead.click_ids = [LeadClickId(**row) for row in click_ids]
    _link_recorded_clicks(lead.click_ids)
    db.session.add(lead)
    try:
        db.session.commit()
    except IntegrityError:
        # The same post again (a double click, a retry): answer with the first lead.
        db.session.rollback()
        existing = find_replay(key, fingerprint)
        if existing is None:
            raise
        return existing, True
    return lead, False


def _link_recorded_clicks(click_ids: list[LeadClickId]) -> None:
    """Point each valid click ID at its recorded click: the trusted click time."""
    wanted = [(row.param, row.value) for row in click_ids if row.valid]
    if not wanted:
        return
    clicks = db.session.execute(
        db.select(Click).where(tuple_(Click.param, Click.click_id).in_(wanted))
    ).scalars()
    by_key = {(click.param, click.click_id): click for click in clicks}
    for row in click_ids:
        row.click = by_key.get((row.param, row.value))
