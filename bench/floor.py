"""A second reference for bench/load.py: what storing a click costs with nothing else.

A Flask view that parses the JSON body and inserts its click IDs with the standard
library's sqlite3, into the service's `clicks` table (created by its migrations), in the
same writers' queue as the service (threads on a lock, processes on its file lock beside
the database) and with its SQLite settings (database.py's own functions, not copies). No
validation, rate limit, origin check, CORS or SQLAlchemy per request: the service does
all of that on top, so its rate can approach this one's but not pass it. SQLite only; the
database is CLOSELOOP_DATABASE_URL's.
"""

import fcntl
import os
import sqlite3
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, request

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from database import _queue_file, configure_sqlite  # noqa: E402

app = Flask(__name__)

PATH = os.environ.get("CLOSELOOP_DATABASE_URL", "").removeprefix("sqlite:///")
INSERT = ("INSERT INTO clicks (platform, param, click_id, first_seen, landing_url) "
          "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")  # fmt: skip
PLATFORMS = {"msclkid": "microsoft", "gclid": "google", "gbraid": "google", "wbraid": "google"}
_threads = threading.local()
_writers = threading.Lock()


def connection() -> sqlite3.Connection:
    """Return this thread's connection, set up as the service sets up its own."""
    if getattr(_threads, "pid", None) != os.getpid():
        _threads.connection = sqlite3.connect(PATH, isolation_level=None)
        configure_sqlite(_threads.connection, None)
        _threads.pid = os.getpid()
    return _threads.connection


@app.post("/capture/clicks")
def register_click():
    """Store the click IDs of the body, first seen now; answer as the service does."""
    body = request.get_json()
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ")
    rows = [(PLATFORMS[name], name, value, now, body.get("landing_url"))
            for name, value in body.items() if name in PLATFORMS]  # fmt: skip
    database = connection()
    with _writers:
        descriptor = _queue_file(PATH)
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        try:
            database.execute("BEGIN IMMEDIATE")
            with database:  # commits, or rolls back when the insert fails
                database.executemany(INSERT, rows)
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    return "", 204


@app.get("/healthz")
def healthz():
    """Answer that the server is up."""
    return {"status": "ok"}
