"""The Flask extensions, created unbound here and bound to the app by the factory.

Blueprints import them from this module, never from the factory module.
"""

from dataclasses import dataclass

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

migrate = Migrate()
limiter = Limiter(get_remote_address)
csrf = CSRFProtect()


@dataclass(frozen=True)
class Public:
    """How a view is open to anyone: it takes no CSRF token; when `cross_origin`, pages of
    the allowed origins may call it (CORS); when `counted`, its refused posts are counted."""

    cross_origin: bool = False
    counted: bool = False


def public(*, cross_origin: bool = False, counted: bool = False):
    """Mark a view public: the one registration the factory and the refusal count read."""

    def mark(view):
        view.public = Public(cross_origin, counted)
        return csrf.exempt(view)

    return mark


def public_marker(view) -> Public | None:
    """Return how a view is public, or None for staff views."""
    return getattr(view, "public", None)
