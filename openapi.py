"""GET /openapi.json: an OpenAPI 3 description of the public endpoints and the API.

Built from the code it describes: the parameter registry (capture/params.py) and the lead
schema (leads/schemas.py), so a new parameter or lead field needs no second list here.
"""

from functools import lru_cache

from flask import Blueprint
from marshmallow import fields, validate

from capture.params import CLICK_ID_PARAMS, MAX_VALUE_LENGTH, PARAMS
from capture.payload import FORM_TYPES
from capture.schemas import LANDING_URL_MAX
from leads.schemas import LeadSchema
from leads.submission import NEXT_FIELD, SUBMISSION_ID_FIELD

bp = Blueprint("openapi", __name__)

TEXT = {"type": "string"}
ERROR = {"$ref": "#/components/schemas/Error"}
REASONS = {
    400: "Malformed body.",
    403: "This origin may not post here.",
    404: "No such feed, or its goal is no longer set up for the platform.",
    413: "The body is too large.",
    415: "Unsupported content type.",
    422: "Some fields need fixing: a message per field.",
    429: "Too many requests from this client.",
    503: "The database is unreachable: nothing was saved.",
}


@bp.get("/openapi.json")
def description():
    """Serve the OpenAPI description of the public endpoints."""
    return public_api()


def field_schema(field: fields.Field) -> dict:
    """Return the JSON Schema of a marshmallow string field with its length and choices."""
    schema = {"type": "string", **({"format": "email"} if isinstance(field, fields.Email) else {})}
    for rule in field.validators:
        if isinstance(rule, validate.Length) and rule.max is not None:
            schema["maxLength"] = rule.max
        elif isinstance(rule, validate.OneOf):
            schema["enum"] = list(rule.choices)
    return schema


def lead_fields() -> dict:
    """Return every field a lead post may carry: the lead's own and the registry's."""
    own = {name: field_schema(field) for name, field in LeadSchema().fields.items()}
    own[SUBMISSION_ID_FIELD]["description"] = "Makes a retry the same lead (or Idempotency-Key)."
    params = {
        p.name: {**TEXT, "description": "Click ID; an invalid one is kept, flagged, not exported."}
        if p.is_click_id
        else {**TEXT, "description": "Attribution context."}
        for p in PARAMS
    }
    after = {**TEXT, "description": "Where a form post is sent next, if its origin is allowed."}
    return {**own, **params, NEXT_FIELD: after}


def lead_body(extra: dict | bool) -> dict:
    """Return the schema of a lead post; other fields (extra) are kept as extra data."""
    required = [{"required": ["email"]}, {"required": ["phone"]}]
    return {
        "type": "object",
        "properties": lead_fields(),
        "additionalProperties": extra,
        "anyOf": required,
    }


def click_report() -> dict:
    """Return the schema of a click report: registry click IDs and the landing page."""
    properties = {
        p.name: {"type": "string", "pattern": p.pattern, "maxLength": MAX_VALUE_LENGTH}
        for p in CLICK_ID_PARAMS
    }
    properties["landing_url"] = {"type": "string", "format": "uri", "maxLength": LANDING_URL_MAX}
    required = [{"required": [p.name]} for p in CLICK_ID_PARAMS]
    return {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "anyOf": required,
    }


def errors(*codes: int, reasons: dict = REASONS) -> dict:
    """Return error answers: JSON {code, status, message, errors}, or a page for browsers."""
    content = {"application/json": {"schema": ERROR}, "text/html": {"schema": TEXT}}
    answers = {str(code): {"description": reasons[code], "content": content} for code in codes}
    if 429 in codes:
        answers["429"]["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
    return answers


def post(summary: str, body: dict, answers: dict, **more) -> dict:
    """Return a POST operation."""
    return {
        "post": {
            "summary": summary,
            "requestBody": {"required": True, "content": body},
            "responses": answers,
            **more,
        }
    }


def paths() -> dict:
    """Return the public paths and what each answers."""
    leads = {t: {"schema": lead_body({"type": "string"})} for t in FORM_TYPES}
    leads["application/json"] = {"schema": lead_body(True)}
    clicks = {t: {"schema": click_report()} for t in (*FORM_TYPES, "application/json")}
    received = {
        "type": "object",
        "required": ["id", "status"],
        "properties": {"id": TEXT, "status": {"type": "string", "enum": ["received"]}},
    }
    idempotency = {"name": "Idempotency-Key", "in": "header", "schema": {**TEXT, "maxLength": 200}}
    feed_params = [
        {
            "name": "platform",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "enum": ["microsoft", "google"]},
        },
        {"name": "name", "in": "path", "required": True, "schema": {**TEXT, "minLength": 1}},
    ]
    health = {
        "type": "object",
        "required": ["status", "database"],
        "properties": {"status": TEXT, "database": TEXT},
    }
    return {
        "/capture.js": get(
            "The capture script, minified; gzipped when accepted.",
            {
                "200": answer(
                    "The script, with ETag, Last-Modified and max-age.", "text/javascript"
                ),
                "304": {"description": "Not modified since the client's copy."},
            },
            parameters=[{"name": "If-None-Match", "in": "header", "schema": TEXT}],
        ),
        "/capture/clicks": post(
            "Record click IDs with the time the service first saw them.",
            clicks,
            {"204": {"description": "Recorded."}, **errors(400, 403, 413, 415, 422, 429, 503)},
        ),
        "/leads": post(
            "Store a lead from a form post or a JSON client, once.",
            leads,
            {
                "201": answer(
                    "JSON clients: stored (Idempotent-Replayed: a repeat).",
                    "application/json",
                    received,
                ),
                "303": {
                    "description": "Form posts: on to _next when its origin is allowed, else "
                    "to the thank-you page.",
                    "headers": {"Location": {"schema": TEXT}},
                    "content": {"text/html": {"schema": TEXT}},
                },
                **errors(400, 403, 413, 415, 422, 429, 503),
            },
            parameters=[idempotency],
        ),
        "/leads/thanks": get("The built-in thank-you page.", {"200": answer("", "text/html")}),
        "/feeds/{platform}/{name}.csv": get(
            "A goal's conversions file, for scheduled imports.",
            {
                "200": answer("The file (UTF-8 CSV).", "text/csv"),
                "401": {
                    **answer("Wrong or missing credentials.", "text/plain"),
                    "headers": {"WWW-Authenticate": {"schema": TEXT}},
                },
                **errors(404, 429),
            },
            parameters=feed_params,
            security=[{"feed": []}],
        ),
        "/healthz": get(
            "Whether the service reaches its database.",
            {
                "200": answer("It does.", "application/json", health),
                "503": answer("It does not.", "application/json", health),
            },
        ),
        "/openapi.json": get("This description.", {"200": answer("", "application/json")}),
        "/metrics": get(
            "Figures for Prometheus, when CLOSELOOP_METRICS_TOKEN or _NETWORKS is set.",
            {
                "200": answer("The Prometheus text format.", "text/plain"),
                "401": {
                    **answer("Wrong or missing token.", "application/json"),
                    "headers": {"WWW-Authenticate": {"schema": TEXT}},
                },
                "403": answer("An address outside CLOSELOOP_METRICS_NETWORKS.", "application/json"),
                "404": answer("Metrics are off.", "application/json"),
            },
            security=[{"token": []}, {}],
        ),
    }


def answer(description: str, media_type: str, schema: dict | None = None) -> dict:
    """Return an answer with one media type."""
    content = {media_type: {"schema": schema or TEXT}}
    if media_type == "application/json" and schema is None:
        content[media_type]["schema"] = {"type": "object"}
    return {"description": description or "OK", "content": content}


def get(summary: str, answers: dict, **more) -> dict:
    """Return a GET operation."""
    return {"get": {"summary": summary, "responses": answers, **more}}


@lru_cache(maxsize=1)
def public_api() -> dict:
    """Return the OpenAPI document of the public endpoints."""
    from api.openapi import SECURITY_SCHEME, api_paths  # it builds on this module's parts

    return {
        "openapi": "3.0.3",
        "info": {"title": "Closeloop public API", "version": "1"},
        "paths": {**paths(), **api_paths()},
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["code", "status", "message", "errors"],
                    "properties": {
                        "code": {"type": "integer"},
                        "status": TEXT,
                        "message": TEXT,
                        "errors": {"type": "object", "description": "Messages per field."},
                    },
                }
            },
            "securitySchemes": {
                "feed": {"type": "http", "scheme": "basic"},
                "token": SECURITY_SCHEME,
            },
        },
    }
