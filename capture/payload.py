"""Read the name/value pairs of a public POST, whatever form encoding it uses."""

from flask import Request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def read_pairs(request: Request) -> list[tuple[str, object]]:
    """Return the posted fields in order; 400 for a malformed body, 415 for other types."""
    if request.mimetype in FORM_TYPES:
        return list(request.form.items(multi=True))
    if request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
        raise UnsupportedMediaType(
            "Send application/json, application/x-www-form-urlencoded or multipart/form-data."
        )
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("The body is not a JSON object.")
    return list(body.items())
