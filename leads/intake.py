"""Store a submitted lead: the rows it becomes, idempotency and links to recorded clicks."""

import secrets
from datetime import datetime

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from capture.models import Click
from capture.params import PARAMS_BY_KEY, is_valid
from database import db, write_transaction
from leads.contact import email_hashes, sha256_hex
from leads.models import Lead, LeadClickId, LeadSearchWord, search_word_rows
from leads.submission import Submission

CLICK_ID_MAX = 500


def lead_values(fields: dict, submission: Submission) -> dict:
    """Return the columns of a lead from its validated fields, the phone number among them
    read in E.164 (pure)."""
    email, phone_e164 = fields.get("email"), fields.get("phone_e164")
    return {
        **fields,
        **email_hashes(email),
        # lower() can lengthen text ("İ" becomes two characters); the column holds 254.
        "email_search": email.lower()[:254] if email else None,
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


def find_replay(key: str | None, fingerprint: str) -> str | None:
    """Return the public id of the lead this exact post already created, if any."""
    if key is None:
        return None
    return db.session.execute(
        db.select(Lead.public_id).where(Lead.idempotency_key == key,
                                        Lead.fingerprint == fingerprint)
    ).scalar_one_or_none()  # fmt: skip


LEADS = Lead.__table__
CLICK_IDS = LeadClickId.__table__
CLICKS = Click.__table__
INSERT_LEAD = insert(LEADS).returning(LEADS.c.id)
INSERT_WORDS = insert(LeadSearchWord.__table__)
# A click ID points at its recorded click, looked up inside the INSERT: the trusted click
# time comes with no extra round trip.
INSERT_CLICK_ID = insert(CLICK_IDS).values(
    lead_id=bindparam("lead"),
    param=bindparam("name"),
    platform=bindparam("source"),
    value=bindparam("text"),
    valid=bindparam("is_valid"),
    click_ref=select(CLICKS.c.id)
    .where(CLICKS.c.param == bindparam("name"), CLICKS.c.click_id == bindparam("text"))
    .scalar_subquery(),
)


def store_lead(values: dict, click_ids: list[dict], key: str | None, fingerprint: str,
               now: datetime) -> tuple[str, bool]:  # fmt: skip
    """Insert the lead with its search words and click IDs, and commit; return its public id
    and whether the post was a replay of an earlier one.

    Inserting first and reading only on a conflict keeps the common case to one write; the
    rows go in as plain INSERTs, a round trip each, with nothing read back but the new key.
    """
    public_id = secrets.token_hex(16)
    row = {**values, "public_id": public_id, "created_at": now, "idempotency_key": key,
           "fingerprint": fingerprint}  # fmt: skip
    try:
        with write_transaction() as connection:
            lead_id = connection.execute(INSERT_LEAD, row).scalar_one()
            words = search_word_rows(lead_id, row.get("name"), row.get("company"))
            if words:
                connection.execute(INSERT_WORDS, words)
            if click_ids:
                connection.execute(INSERT_CLICK_ID, _click_id_parameters(lead_id, click_ids))
    except IntegrityError:
        # The same post again (a double click, a retry): answer with the first lead.
        existing = find_replay(key, fingerprint)
        if existing is None:
            raise
        return existing, True
    return public_id, False


def _click_id_parameters(lead_id: int, click_ids: list[dict]) -> list[dict]:
    """Return INSERT_CLICK_ID's parameters for a lead's click IDs (pure)."""
    return [{"lead": lead_id, "name": row["param"], "source": row["platform"],
             "text": row["value"], "is_valid": row["valid"]} for row in click_ids]  # fmt: skip
