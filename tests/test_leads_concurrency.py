"""Many visitors at once: every acknowledged lead is exactly one row, and no 5xx."""

import itertools
import json
import shutil
import sqlite3
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import pytest
from sqlalchemy import event

import database
from database import db
from leads.models import Lead
from tests.conftest import LiveServer, make_app

THREADS = 16
POSTS = 240


@pytest.fixture
def busy_server(database_url, tmp_path):
    app = make_app(database_url, tmp_path, LEAD_RATE_LIMIT="100000 per minute",
                   LEAD_QUARANTINE_LIMIT="100000 per minute")  # fmt: skip
    server = LiveServer(app)
    server.app = app
    server.url = f"http://127.0.0.1:{server.port}/leads"
    yield server
    server.stop()
    with app.app_context():
        db.engine.dispose()


def post(url: str, number: int) -> tuple[int, str | None]:
    # Every third post is a double click: the same submission id as the post before it.
    submission = f"sub-{number - number % 3 // 2}"
    body = json.dumps({"email": f"v{number}@example.com", "submission_id": submission})
    if number % 3 == 2:
        body = json.dumps({"email": f"v{number - 1}@example.com", "submission_id": submission})
    request = urllib.request.Request(
        url, body.encode(), {"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())["id"]
    except urllib.error.HTTPError as error:
        return error.code, None


def test_concurrent_posts_each_become_exactly_one_row(busy_server):
    with ThreadPoolExecutor(THREADS) as pool:
        answers = list(pool.map(lambda n: post(busy_server.url, n), range(POSTS)))
    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: POSTS}
    acknowledged = {lead_id for _, lead_id in answers}
    with busy_server.app.app_context():
        stored = db.session.execute(db.select(Lead.public_id)).scalars().all()
    assert len(stored) == len(set(stored))
    assert set(stored) == acknowledged
    assert len(stored) == POSTS - POSTS // 3


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_sqlite_log_is_copied_into_the_database_outside_the_writers_queue(
    app, client, database_url, tmp_path, monkeypatch
):
    """A checkpoint (SQLite's own: 1,000 pages and two fsyncs) would hold every writer up."""
    monkeypatch.setattr(database, "_turns", itertools.count(1))
    checkpoints = []  # whether the writers' queue was held, for each checkpoint

    def spy(connection, cursor, statement, *args):
        if "wal_checkpoint" in statement:
            checkpoints.append(database._SQLITE_WRITER.locked())

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", spy)
    for number in range(database.CHECKPOINT_EVERY):
        assert client.post("/leads", json={"email": f"v{number}@example.com"}).status_code == 201
    assert checkpoints == [False]
    # The database file alone, without its write-ahead log, holds every lead.
    copy = tmp_path / "without-log.db"
    shutil.copy(database_url.removeprefix("sqlite:///"), copy)
    with closing(sqlite3.connect(copy)) as connection:
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master")}
        assert "leads" in tables, "the log was never copied into the database file"
        stored = connection.execute("SELECT count(*) FROM leads").fetchone()[0]
    assert stored == database.CHECKPOINT_EVERY


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_failed_checkpoint_still_acknowledges_the_stored_lead(app, client, monkeypatch,
                                                                caplog):  # fmt: skip
    monkeypatch.setattr(database, "_turns", itertools.count(database.CHECKPOINT_EVERY))
    monkeypatch.setattr(database, "CHECKPOINT", "PRAGMA wal_checkpoint(")  # an error in SQLite
    assert client.post("/leads", json={"email": "v@example.com"}).status_code == 201
    assert "SQLite checkpoint failed (OperationalError)" in caplog.text
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Lead)) == 1
