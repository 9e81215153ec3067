"""POST /leads: the public lead intake, and its built-in thank-you page."""

import logging
import secrets
from datetime import UTC, datetime

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_limiter.util import get_remote_address
from limits import parse as parse_limit
from marshmallow import ValidationError
from werkzeug.exceptions import Forbidden

from capture.origins import request_origin_allowed
from capture.payload import read_pairs, storable_text
from capture.rejections import count_rejection
from errors import wants_json
from extensions import limiter, public
from leads.intake import click_id_rows, lead_values, store_lead
from leads.redirects import safe_next_url
from leads.schemas import lead_schema
from leads.submission import split_submission

bp = Blueprint("leads", __name__, template_folder="templates")
log = logging.getLogger(__name__)


def _refuse_limit() -> str:
    return current_app.config["LEAD_RATE_LIMIT"]


def over_quarantine_limit() -> bool:
    """Tell whether this client has posted more than a person plausibly would.

    Below the refusal limit such leads are still stored, as quarantined: one office
    behind one address can send many real leads.
    """
    limit = parse_limit(current_app.config["LEAD_QUARANTINE_LIMIT"])
    try:
        return not limiter.limiter.hit(limit, "lead-quarantine", get_remote_address())
    except Exception:  # noqa: BLE001 - counters only: a lead never waits on their storage
        log.warning("Rate-limit storage failed while counting a lead: stored it as new")
        return False


def lead_status(honeypot: bool) -> str:
    """Return the status a new lead starts with."""
    if honeypot:
        return "spam"
    return "quarantined" if over_quarantine_limit() else "new"


@bp.post("/leads")
@public(cross_origin=True, counted=True)
@limiter.limit(_refuse_limit)
def create():
    """Store a lead from a form post or a JSON request, exactly once."""
    if not request_origin_allowed():
        raise Forbidden("This origin may not post leads; add it to CLOSELOOP_ALLOWED_ORIGINS.")
    config = current_app.config
    submission = split_submission(read_pairs(request), config["HONEYPOT_FIELD"])
    key = storable_text(request.headers.get("Idempotency-Key", "")).strip()
    key = key or submission.submission_id
    form = {**submission.fields, "submission_id": key} if key else submission.fields
    schema = lead_schema(config["DEFAULT_COUNTRY"])
    if submission.honeypot:
        count_rejection("leads.create", "honeypot")
    try:
        fields = schema.load(form)
    except ValidationError:
        if submission.honeypot:  # answer a bot like a person; keep only a whole lead, as spam
            return acknowledge(secrets.token_hex(16), submission.next_url, False)
        raise
    key = fields.pop("submission_id", None)
    values = lead_values(fields, submission)
    values["status"] = lead_status(submission.honeypot)
    values["origin"] = storable_text(request.headers.get("Origin") or "")[:255] or None
    public_id, replayed = store_lead(
        values, click_id_rows(submission.params), key, submission.fingerprint(), _now()
    )
    return acknowledge(public_id, submission.next_url, replayed)


def acknowledge(public_id: str, next_url: str | None, replayed: bool):
    """Answer 201 with the lead id for JSON clients, 303 onwards for forms."""
    if wants_json():
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        return {"id": public_id, "status": "received"}, 201, headers
    post_origin = request.headers.get("Origin") or request.referrer
    target = safe_next_url(next_url, current_app.config["ALLOWED_ORIGINS"], post_origin)
    return redirect(target or url_for("leads.thanks"), code=303)


@bp.get("/leads/thanks")
def thanks():
    """Show the built-in thank-you page."""
    return render_template("leads/thanks.html")


def _now() -> datetime:
    return datetime.now(UTC)
