"""Where a classic form post may be sent after it is stored (pure)."""

from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
DEFAULT_PORTS = {"http": 80, "https": 443}


def url_origin(url: str) -> str | None:
    """Return scheme://host[:port] of an absolute http(s) URL without user info, else None."""
    if not url or len(url) > MAX_URL_LENGTH or "\\" in url:
        return None
    if any(ord(char) < 33 or ord(char) == 127 for char in url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc:
        return None
    suffix = f":{port}" if port and port != DEFAULT_PORTS[parts.scheme] else ""
    return f"{parts.scheme}://{parts.hostname}{suffix}"


def safe_next_url(next_url: str | None, allowed: tuple[str, ...], post_origin: str | None):
    """Return next_url if its origin is allowed, else None (the built-in thank-you page).

    With no allowed origins configured, only the origin the post came from is allowed.
    """
    origin = url_origin(next_url or "")
    permitted = allowed or ((url_origin(post_origin),) if post_origin else ())
    return next_url if origin and origin in permitted else None
