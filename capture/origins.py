"""Which browser origins may call the public endpoints."""

from flask import current_app, request


def request_origin_allowed() -> bool:
    """Tell whether the request's Origin may post here.

    No Origin header means no browser cross-origin call (a server or curl), and the
    service's own pages are always allowed. With no origins configured, development
    accepts any origin and production none.
    """
    origin = request.headers.get("Origin", "").rstrip("/").lower()
    if not origin or origin == request.host_url.rstrip("/").lower():
        return True
    allowed = current_app.config["ALLOWED_ORIGINS"]
    if not allowed:
        return current_app.config["ENVIRONMENT"] == "development"
    return origin in allowed
