"""Read the name/value pairs of a public POST, whatever form encoding it uses."""

import json
import math
import re

from flask import Request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Deeper than any form sends; bounded so that walking and storing a value cannot overflow.
MAX_JSON_DEPTH = 32
# PostgreSQL text cannot hold NUL and UTF-8 cannot encode a lone surrogate (JSON "\ud800").
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str) -> str:
    """Replace what no database column can hold with U+FFFD, as undecodable form bytes are."""
    return UNSTORABLE.sub("\ufffd", text)


def read_pairs(request: Request) -> list[tuple[str, object]]:
    """Return the posted fields in order; 400 for a malformed body, 415 for other types."""
    if request.mimetype in FORM_TYPES:
        # A multipart part without a name arrives named None; keep it, as a form's "=x" is.
        pairs = request.form.items(multi=True)
        return [(storable_text(name or ""), storable_text(value)) for name, value in pairs]
    if request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
        raise UnsupportedMediaType(
            "Send application/json, application/x-www-form-urlencoded or multipart/form-data."
        )
    body = _json_object(request.get_data())
    return [(storable_text(name), _storable(value, 1)) for name, value in body.items()]


def _json_object(data: bytes) -> dict:
    try:
        body = json.loads(data, parse_constant=_refuse_constant, parse_float=_finite_or_text)
    except (ValueError, RecursionError):  # RecursionError: nested beyond the parser's stack
        body = None
    if not isinstance(body, dict):
        raise BadRequest("The body is not a JSON object.")
    return body


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity: Python's extension, not JSON


def _finite_or_text(number: str) -> float | str:
    # 1e999 is valid JSON but no float: keep its text rather than store Infinity.
    value = float(number)
    return value if math.isfinite(value) else number


def _storable(value: object, depth: int) -> object:
    if depth > MAX_JSON_DEPTH:
        raise BadRequest("The JSON body is nested too deeply.")
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, list):
        return [_storable(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {storable_text(k): _storable(v, depth + 1) for k, v in value.items()}
    return value
