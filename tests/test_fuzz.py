"""Hostile input: random bodies, content types, encodings and headers, on both databases.

Property-based (hypothesis) through the test client. Whatever arrives, the public endpoints
and the staff sign-in answer one of their documented statuses, never a 5xx; no lead is
stored without an email or a phone; and nothing is stored when the answer is an error.
Examples are derandomized and nothing is saved to .hypothesis/, so CI is reproducible.
"""

import base64
import itertools
import json
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, or_

from capture.models import Click
from database import db
from leads.models import Lead
from tests.conftest import PASSWORD, Seed, StaffActions, csrf_token, make_app
from tests.hostile_input import (
    CONTENT_TYPES,
    FORM,
    JSON,
    MAX_BODY,
    SHOP,
    Post,
    any_text,
    header_text,
    headers,
    posts,
    texts,
    urlencoded,
    utf8,
)

HIGH_LIMITS = {
    "LEAD_RATE_LIMIT": "100000 per minute",
    "LEAD_QUARANTINE_LIMIT": "100000 per minute",
    "CLICK_RATE_LIMIT": "100000 per minute",
    "FEED_RATE_LIMIT": "100000 per minute",
    "API_RATE_LIMIT": "100000 per minute",
}
FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

LEAD_ANSWERS = {201, 303, 400, 403, 413, 415, 422}
CLICK_ANSWERS = {204, 400, 403, 413, 415, 422}
FEED_ANSWERS = {200, 401, 404}
# The sign-in limits are fixed in staff/auth.py, and a repeated random email meets them.
SIGN_IN_ANSWERS = {200, 302, 400, 413, 422, 429}


@pytest.fixture
def fuzz_app(database_url, tmp_path):
    """An app that accepts posts from one shop, with limits out of the way."""
    app = make_app(
        database_url, tmp_path, ALLOWED_ORIGINS=SHOP, MAX_CONTENT_LENGTH=MAX_BODY, **HIGH_LIMITS
    )
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def stored(app) -> tuple[int, int, int]:
    """Return the number of leads, of leads without an email or a phone, and of clicks."""
    no_email = or_(Lead.email.is_(None), Lead.email == "")
    no_phone = or_(Lead.phone.is_(None), Lead.phone == "")
    with app.app_context():
        count = db.select(func.count()).select_from(Lead)
        return (
            db.session.scalar(count),
            db.session.scalar(count.where(no_email, no_phone)),
            db.session.scalar(db.select(func.count()).select_from(Click)),
        )


def send(client, path: str, post: Post):
    headers = dict(post.headers)
    if post.content_type is not None:
        headers["Content-Type"] = post.content_type
    return client.post(path, data=post.body, headers=headers)


def assert_stored_only_on_success(app, before, response, answers):
    """Check the answer, that errors stored nothing, and that every lead can be contacted."""
    event(f"HTTP {response.status_code}")
    assert response.status_code in answers, response.get_data()[:300]
    after = stored(app)
    assert after[1] == 0, "a lead was stored without an email or a phone"
    if response.status_code >= 400:
        assert (after[0], after[2]) == (before[0], before[2]), "an error answer stored data"


@FUZZ
@given(post=posts())
# Regressions, each a 5xx before its fix: nesting deeper than the JSON parser's stack
# (capture/payload.py); NaN and 1e999 in extra data, which PostgreSQL's json refuses; a lone
# surrogate (UTF-8 cannot encode it); NUL in a field, a click ID or a header, which
# PostgreSQL text cannot hold; a multipart part without a name; an email whose lowercase
# form outgrows its column.
@example(post=Post(b"[" * 4000, JSON, {}))
@example(post=Post(b'{"email": "a@example.com", "x": NaN}', JSON, {}))
@example(post=Post(b'{"email": "a@example.com", "x": 1e999}', JSON, {}))
@example(post=Post(b'{"email": "a@example.com", "name": "\\ud800"}', JSON, {}))
@example(post=Post(b'{"email": "a@example.com", "msclkid": "a\\u0000b"}', JSON, {}))
@example(post=Post(b"email=a%40example.com&name=a%00b", FORM, {"Accept": JSON}))
@example(post=Post(b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n",
                   "multipart/form-data; boundary=b", {}))  # fmt: skip
@example(post=Post(b'{"email": "a@example.com"}', JSON, {"Idempotency-Key": "k\x00"}))
@example(post=Post(json.dumps({"email": "İ" * 240 + "@example.com"}).encode(), JSON, {}))
@example(post=Post(b"x" * (MAX_BODY + 1), FORM, {}))  # not a bug: keeps 413 in every run
def test_leads_survive_hostile_posts(fuzz_app, post):
    client = fuzz_app.test_client()
    before = stored(fuzz_app)
    response = send(client, "/leads", post)
    assert_stored_only_on_success(fuzz_app, before, response, LEAD_ANSWERS)
    if response.status_code == 201:
        assert set(response.get_json()) == {"id", "status"}


def test_unstorable_characters_in_headers_are_replaced(database_url, tmp_path):
    """Regression: NUL in Origin or Idempotency-Key failed the insert on PostgreSQL (500)."""
    app = make_app(database_url, tmp_path, **HIGH_LIMITS)  # development: any origin may post
    headers = {"Origin": "http://a\x00b", "Idempotency-Key": "k\x00"}
    response = app.test_client().post("/leads", json={"email": "a@example.com"}, headers=headers)
    assert response.status_code == 201
    with app.app_context():
        lead = db.session.execute(db.select(Lead)).scalar_one()
        assert (lead.origin, lead.idempotency_key) == ("http://a\ufffdb", "k\ufffd")
        db.session.remove()
        db.engine.dispose()


@FUZZ
@given(post=posts())
@example(post=Post(b"[" * 4000, JSON, {}))  # regression: the parser's RecursionError, a 500
def test_click_reports_survive_hostile_posts(fuzz_app, post):
    before = stored(fuzz_app)
    response = send(fuzz_app.test_client(), "/capture/clicks", post)
    assert_stored_only_on_success(fuzz_app, before, response, CLICK_ANSWERS)


QUARANTINE_AFTER = 2


@pytest.fixture
def limited_app(database_url, tmp_path):
    """An app with low limits, so that fuzzing meets quarantine and refusal."""
    limits = {"LEAD_QUARANTINE_LIMIT": f"{QUARANTINE_AFTER} per hour",
              "LEAD_RATE_LIMIT": "40 per hour", "CLICK_RATE_LIMIT": "20 per hour"}  # fmt: skip
    app = make_app(database_url, tmp_path, ALLOWED_ORIGINS=SHOP, MAX_CONTENT_LENGTH=MAX_BODY,
                   **limits)  # fmt: skip
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@settings(FUZZ, max_examples=100)
@given(path=st.sampled_from(["/leads", "/capture/clicks"]), post=posts())
def test_limits_quarantine_then_refuse_whatever_is_posted(limited_app, path, post):
    before = stored(limited_app)
    response = send(limited_app.test_client(), path, post)
    answers = LEAD_ANSWERS if path == "/leads" else CLICK_ANSWERS
    assert_stored_only_on_success(limited_app, before, response, answers | {429})
    if response.status_code == 429:
        assert int(response.headers["Retry-After"]) > 0
    with limited_app.app_context():
        leads = db.select(func.count()).select_from(Lead)
        assert db.session.scalar(leads.where(Lead.status == "new")) <= QUARANTINE_AFTER


@FUZZ
@given(
    path=st.sampled_from(["/leads", "/capture/clicks"]),
    method=st.sampled_from(["GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]),
    extra=headers,
    preflight=st.one_of(st.none(), st.sampled_from(["POST", "PUT", "X"]), header_text),
)
def test_other_methods_are_refused_or_preflighted(fuzz_app, path, method, extra, preflight):
    if preflight is not None:
        extra = {**extra, "Access-Control-Request-Method": preflight}
    before = stored(fuzz_app)
    response = fuzz_app.test_client().open(path, method=method, headers=extra)
    answers = {200} if method == "OPTIONS" else {405}
    assert_stored_only_on_success(fuzz_app, before, response, answers)


def create_feeds(app) -> list[tuple[str, str, str]]:
    """Create a working Microsoft feed and a Google feed whose goal lost its Google name.

    Return each feed's path, user name and password.
    """
    from export.feeds import create_feed
    from leads.models import Goal

    seed = Seed(app)
    staff_id = StaffActions(app, None).create("admin@example.com", "admin")
    both, microsoft_only = seed.goal("Closed won"), seed.goal("Demo", google_action_name=None)
    with app.app_context():
        now = datetime.now(UTC)
        working, working_password = create_feed(
            db.session.get(Goal, both), "microsoft", staff_id, now
        )
        stale, stale_password = create_feed(
            db.session.get(Goal, microsoft_only), "google", staff_id, now
        )
        db.session.commit()
        return [
            (f"/feeds/microsoft/{working.slug}.csv", working.username, working_password),
            (f"/feeds/google/{stale.slug}.csv", stale.username, stale_password),
        ]


@pytest.fixture
def feeds(fuzz_app):
    return create_feeds(fuzz_app)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@FUZZ
@given(
    feed=st.integers(min_value=0, max_value=1),
    platform=st.sampled_from(["microsoft", "google", "bing", "MICROSOFT", "", "%00"]),
    name=st.one_of(st.none(), st.sampled_from(["closed-won", "demo", "a" * 300]), any_text),
    credentials=st.sampled_from(["none", "right", "wrong", "garbage"]),
    junk=header_text,
    extra=headers,
    method=st.sampled_from(["GET", "HEAD"]),
)
# Regression: NUL in the User-Agent failed the fetch log's insert on PostgreSQL (500).
@example(feed=0, platform="microsoft", name=None, credentials="none", junk="",
         extra={"User-Agent": "\x00"}, method="GET")  # fmt: skip
def test_feeds_answer_only_401_404_or_the_file(
    fuzz_app, feeds, feed, platform, name, credentials, junk, extra, method
):
    path, user, password = feeds[feed]
    if name is not None:
        path = f"/feeds/{platform}/{quote(utf8(name), safe='')}.csv"
    auth = {
        "none": None,
        "right": basic(user, password),
        "wrong": basic(junk, password),
        "garbage": junk,
    }[credentials]
    headers = {**extra, "Authorization": auth} if auth is not None else extra
    response = fuzz_app.test_client().open(path, method=method, headers=headers)
    event(f"HTTP {response.status_code}")
    # Werkzeug sends /feeds//x.csv on to /feeds/x.csv; that is not a feed URL.
    assert response.status_code in FEED_ANSWERS | ({308} if "//" in path else set())
    if response.status_code == 200:
        assert credentials == "right"


sign_in_forms = st.lists(
    st.tuples(
        st.one_of(st.sampled_from(["email", "password", "csrf_token", "next"]), any_text),
        st.one_of(st.sampled_from(["admin@example.com", PASSWORD, "x" * 5000]), texts),
    ),
    max_size=4,
)


@pytest.fixture
def admin(fuzz_app):
    """Create the staff member whose right password some examples send."""
    return StaffActions(fuzz_app, None).create("admin@example.com", "admin")


# One client address per example: the per-address limit is not what is tested here.
addresses = (f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}" for n in itertools.count(1))


@FUZZ
@given(
    form=sign_in_forms,
    token=st.sampled_from(["form", "header", "none", "wrong"]),
    right_password=st.booleans(),
    content_type=st.one_of(st.just(FORM), st.sampled_from(CONTENT_TYPES)),
    next_url=st.one_of(st.none(), st.sampled_from(["/staff/leads", "//evil.example"]), any_text),
    extra=headers,
)
# Regression: NUL in the email failed the account lookup on PostgreSQL (500).
@example(form=[("email", "a\x00b"), ("password", "p")], token="form", right_password=False,
         content_type=FORM, next_url=None, extra={})  # fmt: skip
def test_sign_in_survives_hostile_posts(
    fuzz_app, admin, form, token, right_password, content_type, next_url, extra
):
    client = fuzz_app.test_client()
    real_token = csrf_token(client)
    sent_token = {"form": [("csrf_token", real_token)], "wrong": [("csrf_token", "x" + real_token)]}
    pairs = [*sent_token.get(token, []), *form]
    if right_password:
        pairs = [("email", "admin@example.com"), ("password", PASSWORD), *pairs]
    headers = {**extra, "X-CSRFToken": real_token} if token == "header" else dict(extra)
    if content_type is not None:
        headers["Content-Type"] = content_type
    path = "/staff/sign-in" + (f"?next={quote(utf8(next_url), safe='')}" if next_url else "")
    environ = {"REMOTE_ADDR": next(addresses)}
    response = client.post(path, data=urlencoded(pairs), headers=headers, environ_base=environ)
    event(f"HTTP {response.status_code}")
    assert response.status_code in SIGN_IN_ANSWERS
