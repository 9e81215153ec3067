"""One shape for every public error: {"code", "status", "message", "errors"}."""

import logging

from flask import Flask, json
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException, InternalServerError, UnprocessableEntity
from werkzeug.http import HTTP_STATUS_CODES

from database import db

log = logging.getLogger(__name__)


def error_body(code: int, message: str | None = None, errors: dict | None = None) -> dict:
    """Return the JSON body of an error answer."""
    status = HTTP_STATUS_CODES.get(code, "Error")
    return {"code": code, "status": status, "message": message or status, "errors": errors or {}}


def json_error(error: HTTPException, errors: dict | None = None):
    """Turn an HTTP error into a JSON answer, keeping headers such as Retry-After."""
    response = error.get_response()
    response.data = json.dumps(error_body(error.code, error.description, errors))
    response.content_type = "application/json"
    return response


def handle_http_error(error: HTTPException):
    """Answer an HTTP error as JSON."""
    return json_error(error)


def handle_validation_error(error: ValidationError):
    """Answer a marshmallow validation failure as 422 with a message per field."""
    messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
    return json_error(UnprocessableEntity("The request has invalid fields."), messages)


def handle_unexpected_error(error: Exception):
    """Roll back, log, and answer 500 without internals."""
    db.session.rollback()
    log.exception("Unhandled error")
    return json_error(InternalServerError())


def register_error_handlers(app: Flask) -> None:
    """Install the JSON error handlers."""
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(ValidationError, handle_validation_error)
    app.register_error_handler(Exception, handle_unexpected_error)
