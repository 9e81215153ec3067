"""One shape for every error: JSON {"code", "status", "message", "errors"} for programs,
a plain page that says what to fix for people."""

import contextlib
import logging

from flask import Flask, json, render_template, request
from marshmallow import ValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    ServiceUnavailable,
    UnprocessableEntity,
)
from werkzeug.http import HTTP_STATUS_CODES

from database import db

log = logging.getLogger(__name__)


def wants_json() -> bool:
    """Tell whether the client is a program: a JSON body, or JSON preferred over HTML."""
    accept = request.accept_mimetypes
    return request.is_json or accept["application/json"] > accept["text/html"]


def prefers_html() -> bool:
    """Tell whether the client is a person's browser; programs and curl get JSON."""
    accept = request.accept_mimetypes
    return not request.is_json and accept["text/html"] > accept["application/json"]


def error_body(code: int, message: str | None = None, errors: dict | None = None) -> dict:
    """Return the JSON body of an error answer."""
    status = HTTP_STATUS_CODES.get(code, "Error")
    return {"code": code, "status": status, "message": message or status, "errors": errors or {}}


# What people are told instead of the framework's wording ("5 per 1 minute").
PLAIN_MESSAGES = {
    405: "This address only takes a form sent from its page: go back to the page and "
    "send the form again.",
    429: "Too many tries in a short time. Wait a minute, then try again.",
}


def error_response(error: HTTPException, errors: dict | None = None):
    """Answer an HTTP error in the client's language, keeping headers such as Retry-After.

    People in the staff workspace see the error in its layout, with a way back.
    """
    response = error.get_response()
    message = PLAIN_MESSAGES.get(error.code, error.description)
    body = error_body(error.code, message, errors)
    if prefers_html():
        staff = request.path.startswith("/staff")
        response.data = render_template("staff/error.html" if staff else "error.html", **body)
        response.content_type = "text/html; charset=utf-8"
    else:
        response.data = json.dumps(body)
        response.content_type = "application/json"
    return response


def handle_http_error(error: HTTPException):
    """Answer an HTTP error."""
    return error_response(error)


def handle_validation_error(error: ValidationError):
    """Answer a marshmallow validation failure as 422 with a message per field."""
    messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
    return error_response(UnprocessableEntity("Some fields need fixing."), messages)


def handle_database_error(error: DBAPIError):
    """Answer 503 when the database cannot be reached or dropped the connection, else 500."""
    lost = isinstance(error, OperationalError | InterfaceError) or error.connection_invalidated
    if not lost:
        return handle_unexpected_error(error)
    log.error("Database unavailable: %s", type(error.orig).__name__)
    return database_unavailable()


def handle_pool_timeout(error: PoolTimeoutError):
    """Answer 503 when every pooled connection stayed busy for too long."""
    log.error("Database unavailable: %s", error)
    return database_unavailable()


def database_unavailable():
    """Roll back what the request began and answer 503: never a false success."""
    # The connection may be gone with the server; the session is discarded at teardown.
    with contextlib.suppress(SQLAlchemyError):
        db.session.rollback()
    return error_response(ServiceUnavailable("Nothing was saved. Please try again shortly."))


def handle_unexpected_error(error: Exception):
    """Roll back, log, and answer 500 without internals."""
    db.session.rollback()
    log.exception("Unhandled error")
    return error_response(InternalServerError())


def register_error_handlers(app: Flask) -> None:
    """Install the error handlers."""
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(ValidationError, handle_validation_error)
    app.register_error_handler(DBAPIError, handle_database_error)
    app.register_error_handler(PoolTimeoutError, handle_pool_timeout)
    app.register_error_handler(Exception, handle_unexpected_error)
