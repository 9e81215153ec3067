"""The conversions API's part of /openapi.json, built from its schema and registries."""

from api.matching import LEAD_KEYS
from api.models import SCOPES
from openapi import TEXT, errors

REASONS = {
    400: "Malformed JSON, or a question the endpoint does not take.",
    401: "Missing, wrong or revoked token (WWW-Authenticate: Bearer).",
    403: "The token lacks the endpoint's scope.",
    404: "No such conversion, or no lead matches.",
    409: "The external_id names another lead, goal or time, or a retracted conversion.",
    415: "The body is not JSON.",
    422: "Some fields need fixing (a message per field), or no platform would take it; or "
    "an external_id no conversion can have (over 200 characters, control characters).",
    429: "Too many calls with this token.",
    503: "The database is unreachable: nothing was saved.",
}
STANDING = {
    "type": "object",
    "properties": {"state": {**TEXT, "description": "written, pending, out, held, excluded"},
                   "detail": TEXT},
}  # fmt: skip
PLATFORMS = {"type": "object", "additionalProperties": STANDING,
             "description": "Where it stands on each platform of its goal."}  # fmt: skip
NULLABLE_TEXT = {**TEXT, "nullable": True}
CONVERSION = {
    "type": "object",
    "required": ["id", "external_id", "lead_id", "goal", "converted_at", "state", "platforms"],
    "properties": {
        "id": {"type": "integer"},
        "external_id": NULLABLE_TEXT,
        "lead_id": TEXT,
        "goal": TEXT,
        "converted_at": {**TEXT, "format": "date-time"},
        "value": NULLABLE_TEXT,
        "currency": NULLABLE_TEXT,
        "state": {"type": "string", "enum": ["recorded", "retracted"]},
        "platforms": PLATFORMS,
        "adjustments": {"type": "array", "items": {"type": "object"}},
    },
}
BODY = {
    "type": "object",
    "required": ["goal", "converted_at"],
    "additionalProperties": False,
    "properties": {
        **{key: {**TEXT, "minLength": 1, "maxLength": 500} for key in LEAD_KEYS},
        "goal": {**TEXT, "minLength": 1, "maxLength": 100},
        "converted_at": {**TEXT, "format": "date-time",
                         "description": "ISO 8601 with an offset; Z counts."},
        "value": {"oneOf": [TEXT, {"type": "number"}], "nullable": True,
                  "description": "The goal's default value when left out."},
        "currency": {**NULLABLE_TEXT, "description": "ISO 4217; the goal's default when left out."},
    },
    "description": "The lead is named by exactly one of " + ", ".join(LEAD_KEYS) + ".",
}  # fmt: skip
EXTERNAL_ID = {"name": "external_id", "in": "path", "required": True,
               "schema": {**TEXT, "minLength": 1, "maxLength": 200}}  # fmt: skip


def _errors(*codes: int) -> dict:
    return errors(*codes, reasons=REASONS)


def _conversion(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": CONVERSION}}}  # fmt: skip


def _operation(summary: str, scope: str, answers: dict, **more) -> dict:
    return {"summary": f"{summary} (scope {scope}: {SCOPES[scope]})", "responses": answers,
            "security": [{"token": []}], **more}  # fmt: skip


def api_paths() -> dict:
    """Return the API's paths for /openapi.json."""
    lead = {"type": "object", "properties": {"id": TEXT, "created_at": TEXT, "status": TEXT}}
    listed = {"type": "object", "required": ["leads"],
              "properties": {"leads": {"type": "array", "items": lead}}}  # fmt: skip
    query = [{"name": name, "in": "query", "schema": TEXT,
              "description": "Exactly one of email, phone and click_id."}
             for name in ("email", "phone", "click_id")]  # fmt: skip
    return {
        "/api/v1/conversions/{external_id}": {
            "parameters": [EXTERNAL_ID],
            "put": _operation(
                "Record the conversion the CRM knows by external_id, or change its value.",
                "conversions",
                {
                    "201": _conversion("Recorded."),
                    "200": _conversion("Already recorded: unchanged, or the new value."),
                    **_errors(400, 401, 403, 404, 409, 415, 422, 429, 503),
                },
                requestBody={"required": True, "content": {"application/json": {"schema": BODY}}},
            ),  # fmt: skip
            "get": _operation(
                "Read a conversion, retracted ones too.",
                "conversions",
                {"200": _conversion("The conversion."), **_errors(401, 403, 404, 422, 429, 503)},
            ),  # fmt: skip
            "delete": _operation(
                "Retract a conversion (again: unchanged).",
                "conversions",
                {"200": _conversion("Retracted."), **_errors(401, 403, 404, 422, 429, 503)},
            ),  # fmt: skip
        },
        "/api/v1/leads": {
            "get": _operation(
                "List the leads with an email, phone or click ID, newest first.",
                "leads:read",
                {
                    "200": {
                        "description": "The leads (at most 100).",
                        "content": {"application/json": {"schema": listed}},
                    },
                    **_errors(400, 401, 403, 429, 503),
                },
                parameters=query,
            ),  # fmt: skip
        },
    }


SECURITY_SCHEME = {"type": "http", "scheme": "bearer",
                   "description": "An API token an admin created under API tokens."}  # fmt: skip
