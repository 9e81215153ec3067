"""Signed, expiring links for invitations and password resets (itsdangerous)."""

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

INVITATION_MAX_AGE = 72 * 3600
RESET_MAX_AGE = 24 * 3600


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=f"closeloop-{purpose}")


def make_token(purpose: str, payload: dict) -> str:
    """Return a signed token for the payload."""
    return _serializer(purpose).dumps(payload)


def read_token(purpose: str, token: str, max_age: int) -> dict | None:
    """Return the payload of a valid, unexpired token, else None."""
    try:
        payload = _serializer(purpose).loads(token, max_age=max_age)
    except BadSignature:
        return None
    return payload if isinstance(payload, dict) else None
