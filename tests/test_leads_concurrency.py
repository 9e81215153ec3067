"""Many visitors at once: every acknowledged lead is exactly one row, and no 5xx."""

import json
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

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
