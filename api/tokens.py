"""Who calls the API: a bearer token, its scopes and its rate limit. No cookies."""

from datetime import UTC, datetime, timedelta
from functools import wraps

from flask import current_app, g, request
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Forbidden, Unauthorized

from api.models import ApiToken, token_digest
from database import db

LAST_USE_PRECISION = timedelta(minutes=1)  # how often a token's last use is written


def bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def rate_limit_key() -> str:
    """Count calls per token (per address for calls without one)."""
    token = bearer_token()
    if token:
        return "token:" + token_digest(token)[:32]
    return "address:" + (request.remote_addr or "")


def api_rate_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


def token_required(scope: str):
    """Let the view run for a valid, unrevoked token with the scope: 401 or 403 otherwise."""

    def decorate(view):
        @wraps(view)
        def checked(*args, **kwargs):
            token = _token()
            if token is None:
                raise Unauthorized("Send a valid API token: Authorization: Bearer <token>.",
                                   www_authenticate=WWWAuthenticate("bearer"))  # fmt: skip
            if not token.allows(scope):
                raise Forbidden(f"This token lacks the {scope!r} scope.")
            g.api_token = token
            return view(*args, **kwargs)

        return checked

    return decorate


def _token() -> ApiToken | None:
    text = bearer_token()
    if not text:
        return None
    token = db.session.scalar(db.select(ApiToken).where(ApiToken.digest == token_digest(text)))
    if token is None or token.revoked_at is not None:
        return None
    now = datetime.now(UTC)
    if token.last_used_at is None or now - token.last_used_at >= LAST_USE_PRECISION:
        token.last_used_at = now
        db.session.commit()
    return token
