"""The Flask extensions, created unbound here and bound to the app by the factory.

Blueprints import them from this module, never from the factory module.
"""

import threading
import time
from dataclasses import dataclass

import flask_limiter._extension
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from limits.storage import MemoryStorage

SWEEP_EVERY = 1.0  # seconds between two sweeps of the expired in-memory counters


class MemoryCounters(MemoryStorage):
    """limits' in-memory counters (`memory://`, the default), swept without a thread.

    limits' own storage drops expired counters from a timer thread that the next count starts
    once the last one has ended: a new thread every 10 ms of a busy process, and two requests
    counting at that moment can both start the same one; the second fails with RuntimeError,
    a visitor's click or lead answered 500. Here the count that finds a sweep due does it,
    at most once a second. Registered under limits' scheme, it is what `memory://` makes.
    """

    STORAGE_SCHEME = ["memory"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.timer.cancel()  # the one MemoryStorage starts itself
        self.sweeping = threading.Lock()
        self.swept = time.monotonic()

    def _MemoryStorage__schedule_expiry(self) -> None:
        """Replace MemoryStorage's private timer start, which each count calls (limits is
        pinned; tests/test_rate_counters.py fails if a new version starts threads again)."""
        now = time.monotonic()
        if now - self.swept < SWEEP_EVERY or not self.sweeping.acquire(blocking=False):
            return
        try:
            self.swept = now
            self.sweep(time.time())  # limits keeps expiries in wall-clock time
        finally:
            self.sweeping.release()

    def sweep(self, now: float) -> None:
        """Drop the counters and moving-window entries that expired by `now` (not with
        MemoryStorage's own sweep: it reads each key again after listing them, and a count
        that dropped the key meanwhile makes it raise KeyError)."""
        for key, expiry in list(self.expirations.items()):
            if expiry <= now:
                self.storage.pop(key, None)
                self.expirations.pop(key, None)
                self.locks.pop(key, None)
        for key in list(self.events):
            with self.locks[key]:
                kept = [event for event in self.events.get(key, ()) if event.expiry > now]
                if kept:
                    self.events[key] = kept
                else:
                    self.events.pop(key, None)
                    self.locks.pop(key, None)


# Flask-Limiter builds the counters it falls back on while Redis is away with limits' own
# MemoryStorage, not through `memory://`: the same race, in an outage, under load.
flask_limiter._extension.MemoryStorage = MemoryCounters

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
