"""The conversions API (SPEC §5): what a CRM workflow calls when a deal closes."""

from datetime import UTC, datetime

from flask import Blueprint, current_app, request
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import BadRequest, NotFound

from api import upsert
from api.matching import CLICK_ID_KEYS, matching_leads
from api.schemas import ConversionBody, read_external_id
from api.tokens import api_rate_limit, rate_limit_key, token_required
from database import db
from export.fates import standings
from extensions import limiter, public
from leads.conversion_rules import decimals
from leads.conversions import retract
from leads.models import Conversion, Lead

bp = Blueprint("api", __name__, url_prefix="/api/v1")
limiter.limit(api_rate_limit, key_func=rate_limit_key)(bp)
LEADS_LISTED = 100


def _now() -> datetime:
    return datetime.now(UTC)


@bp.put("/conversions/<path:external_id>")
@public()
@token_required("conversions")
def put_conversion(external_id: str):
    """Create the conversion the CRM knows by this id, or bring it to the body's value."""
    external_id = read_external_id(external_id)
    body = request.get_json()
    if not isinstance(body, dict):
        raise ValidationError({"_schema": ["Send the conversion as a JSON object."]})
    data = ConversionBody().load(body)
    config = current_app.config
    for attempt in range(2):
        try:
            outcome = upsert.put_conversion(external_id, data, _now(), None,
                                            config["DEFAULT_COUNTRY"])  # fmt: skip
            db.session.commit()
            break
        except IntegrityError:
            db.session.rollback()  # a call with the same id got there first: answer as it
            if attempt:
                raise
    answer = conversion_answer(outcome.conversion, outcome.standings)
    return answer, 201 if outcome.created else 200


@bp.get("/conversions/<path:external_id>")
@public()
@token_required("conversions")
def get_conversion(external_id: str):
    """Read a conversion, retracted ones too."""
    return conversion_answer(_existing(external_id))


@bp.delete("/conversions/<path:external_id>")
@public()
@token_required("conversions")
def delete_conversion(external_id: str):
    """Retract the conversion (again: nothing more happens)."""
    conversion = _existing(external_id)
    if not conversion.retracted:
        retract(conversion, _now(), None)
        db.session.commit()
    return conversion_answer(conversion)


@bp.get("/leads")
@public()
@token_required("leads:read")
def leads():
    """List the leads with an email, phone or click ID, newest first."""
    asked = {key: value for key, value in request.args.items() if value}
    keys = ("email", "phone", "click_id")
    if len(asked) != 1 or next(iter(asked)) not in keys:
        raise BadRequest("Ask with exactly one of email=, phone= or click_id=.")
    [(key, value)] = asked.items()
    config = current_app.config
    found = (
        [lead for name in CLICK_ID_KEYS
         for lead in matching_leads(name, value, config["DEFAULT_COUNTRY"], LEADS_LISTED)]
        if key == "click_id"
        else matching_leads(key, value, config["DEFAULT_COUNTRY"], LEADS_LISTED)
    )  # fmt: skip
    return {"leads": [lead_answer(lead) for lead in found[:LEADS_LISTED]]}


def _existing(external_id: str) -> Conversion:
    conversion = upsert.by_external_id(read_external_id(external_id))
    if conversion is None:
        raise NotFound("No conversion has this external_id.")
    return conversion


def _time(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def _amount(value, currency: str | None) -> str | None:
    """Return an amount as a JSON string: a period, the currency's usual decimals."""
    return None if value is None else f"{value:.{decimals(value, currency)}f}"


def conversion_answer(conversion: Conversion, where: dict | None = None) -> dict:
    """Return a conversion as the API answers it, with where it stands on each platform
    (`where`, when just found)."""
    where = where or standings([conversion], _now())

    def platforms(subject: tuple) -> dict:
        return {s.platform.name: {"state": s.state, "detail": s.summary}
                for s in where.get(subject, [])}  # fmt: skip

    return {
        "id": conversion.id,
        "external_id": conversion.external_id,
        "lead_id": conversion.lead.public_id,
        "goal": conversion.goal.name,
        "converted_at": _time(conversion.converted_at),
        "value": _amount(conversion.current_value, conversion.current_currency),
        "currency": conversion.current_currency,
        "state": "retracted" if conversion.retracted else "recorded",
        "platforms": platforms(("conversion", conversion.id)),
        "adjustments": [
            {"kind": adjustment.kind, "at": _time(adjustment.adjusted_at),
             "value": _amount(adjustment.value, adjustment.currency),
             "currency": adjustment.currency,
             "platforms": platforms(("adjustment", adjustment.id))}
            for adjustment in conversion.adjustments
        ],
    }  # fmt: skip


def lead_answer(lead: Lead) -> dict:
    """Return what a CRM needs to tell leads apart, and the id to record conversions with."""
    return {
        "id": lead.public_id,
        "created_at": _time(lead.created_at),
        "status": lead.status,
        "name": lead.name,
        "email": lead.email,
        "phone": lead.phone_e164 or lead.phone,
        "company": lead.company,
        "click_ids": {c.param: c.value for c in lead.click_ids if c.valid},
        "conversions": [{"id": c.id, "external_id": c.external_id, "goal": c.goal.name,
                         "converted_at": _time(c.converted_at)} for c in lead.conversions],
    }  # fmt: skip
