"""Attacks on access: redirects, origins, paths, sessions and guessing (issue 6).

Covered elsewhere and not repeated: safe_next_url as a table (test_redirects.py), the
basic hostile _next cases (test_leads.py), planted session values (test_staff_auth.py
test_session_starts_fresh_at_sign_in), per-account sign-in limits and feed password
guessing (test_staff_auth.py, test_export_pages.py).
"""

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from capture.models import Click
from database import db
from export.models import ExportFile, ExportRun
from leads.models import Lead
from staff.models import AuditEvent
from tests.conftest import PASSWORD, Seed, StaffActions, csrf_token, make_app
from tests.test_export_pages import basic, create_feed
from tests.test_export_run import MSCLKID, OLD

SHOP = "https://shop.example"
EVIL = "https://evil.example/"


@pytest.fixture
def shop_app(database_url, tmp_path):
    return make_app(database_url, tmp_path, ALLOWED_ORIGINS=SHOP)


def count(app, model) -> int:
    with app.app_context():
        return len(db.session.execute(db.select(model.id)).all())


# --- Open redirects: a form post or a sign-in never sends the browser to another site. ---


@pytest.mark.parametrize(
    ("fields", "encoding"),
    [
        ({"_next": EVIL}, "multipart/form-data"),
        ({"_NEXT": EVIL}, None),
        ({" _next ": EVIL}, None),
        ({"_next": [SHOP + "/thanks", EVIL]}, None),  # the last one wins, and is checked
        ({"_next": SHOP + "/thanks\r\nLocation: " + EVIL}, None),
        ({"_next": "java\tscript:alert(1)"}, None),
        ({"_next": EVIL, "_gotcha": "a bot"}, None),  # the honeypot answers like success
    ],
    ids=["multipart", "upper-case", "padded", "repeated", "crlf", "tab-scheme", "honeypot"],
)
def test_a_form_post_never_redirects_to_a_foreign_host(shop_app, fields, encoding):
    body = {"email": "a@example.com", **fields}
    response = shop_app.test_client().post(
        "/leads", data=body, content_type=encoding, headers={"Origin": SHOP}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/leads/thanks"
    assert count(shop_app, Lead) == 1


@pytest.mark.parametrize(
    ("next_url", "location"),
    [
        ("/staff/leads/?q=ada", "/staff/leads/?q=ada"),
        ("https://evil.example/staff/", "/staff/"),
        ("//evil.example/staff/", "/staff/"),
        ("/\\evil.example/staff/", "/staff/"),
        ("javascript:alert(1)", "/staff/"),
        ("/staff/\r\nSet-Cookie: session=planted", "/staff/"),
        ("/staff/..//evil.example", None),  # resolves to a path on this host
    ],
    ids=["workspace-page", "other-site", "scheme-relative", "backslash", "javascript", "crlf",
         "dot-segments"],
)  # fmt: skip
def test_sign_in_returns_only_to_a_workspace_page(client, staff, next_url, location):
    staff.create("sam@example.com")
    form = {"email": "sam@example.com", "password": PASSWORD, "csrf_token": csrf_token(client)}
    response = client.post("/staff/sign-in", query_string={"next": next_url}, data=form)
    assert response.status_code == 302
    target = urljoin("http://localhost/staff/sign-in", response.headers["Location"])
    assert urlsplit(target).netloc == "localhost"
    assert location is None or response.headers["Location"] == location


# --- CORS: a disallowed origin gets no CORS headers and stores nothing. ---

ROUTES = {
    "/leads": ({"email": "a@example.com"}, Lead),
    "/capture/clicks": ({"msclkid": MSCLKID}, Click),
}
# Another site, a sandboxed frame, a look-alike host, and the shop over plain http.
DISALLOWED = ["https://evil.example", "null", "https://shop.example.evil.example",
              "http://shop.example"]  # fmt: skip


@pytest.mark.parametrize("origin", DISALLOWED)
@pytest.mark.parametrize("route", ROUTES)
def test_a_disallowed_origin_gets_no_cors_and_stores_nothing(shop_app, route, origin):
    body, model = ROUTES[route]
    client = shop_app.test_client()
    asking = {"Origin": origin, "Access-Control-Request-Method": "POST",
              "Access-Control-Request-Headers": "content-type"}  # fmt: skip
    preflight = client.options(route, headers=asking)
    assert "Access-Control-Allow-Origin" not in preflight.headers
    # A form post is a "simple" request: a browser sends it without asking first.
    for refused in (client.post(route, json=body, headers={"Origin": origin}),
                    client.post(route, data=body, headers={"Origin": origin})):  # fmt: skip
        assert refused.status_code == 403
        assert "Access-Control-Allow-Origin" not in refused.headers
    assert count(shop_app, model) == 0
    allowed = client.post(route, json=body, headers={"Origin": SHOP})
    assert allowed.status_code in (201, 204)
    assert allowed.headers["Access-Control-Allow-Origin"] == SHOP


# --- Paths: downloads come from the export folder only; feed names never name a file. ---

SECRET = "TOP SECRET: outside the export folder"


def ledger_file(app, goal_id: int, path: str) -> int:
    """Add a written file to the ledger with the given stored path, as a tampered row."""
    with app.app_context():
        run = ExportRun(started_at=datetime.now(UTC), host="here", status="finished", skipped={})
        file = ExportFile(run=run, goal_id=goal_id, kind="microsoft-conversions", part=1,
                          conversion_name="Won", path=path, rows=1, status="written")  # fmt: skip
        db.session.add(file)
        db.session.commit()
        return file.id


@pytest.mark.parametrize(
    "stored", ["../secret.csv", "run-000001/../../secret.csv", "ABSOLUTE", "/etc/passwd", "SYMLINK"]
)
def test_a_ledger_path_outside_the_export_folder_is_never_served(
    app, staff, seed, tmp_path, stored
):
    secret = tmp_path / "secret.csv"
    secret.write_text(SECRET)
    run_folder = Path(app.config["EXPORT_DIR"]) / "run-000001"
    run_folder.mkdir(parents=True)
    (run_folder / "link.csv").symlink_to(secret)
    path = {"ABSOLUTE": str(secret), "SYMLINK": "run-000001/link.csv"}.get(stored, stored)
    file_id = ledger_file(app, seed.goal(), path)
    staff.as_role("sales")
    response = staff.client.get(f"/staff/exports/files/{file_id}")
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert SECRET not in body and "root:" not in body
    with app.app_context():  # a download that did not happen is not in the audit trail
        downloads = db.select(AuditEvent).where(AuditEvent.action == "export.download")
        assert db.session.execute(downloads).first() is None


@pytest.mark.parametrize(
    "name",
    ["closed-won%00", "%00", "..%5C..%5Cetc%5Cpasswd", "%252e%252e%252fetc%252fpasswd",
     "closed-won%2F..%2F..%2F..%2Fetc%2Fpasswd", "..", "%2e%2e%2f%2e%2e%2fsecret"],
)  # fmt: skip
def test_a_feed_name_never_reaches_a_file_even_with_valid_credentials(client, staff, seed, name):
    staff.as_role("admin")
    _, username, password = create_feed(staff, seed.goal("Closed won", created_at=OLD))
    response = client.get(f"/feeds/microsoft/{name}.csv", headers=basic(username, password))
    assert response.status_code in (401, 404)
    body = response.get_data(as_text=True)
    assert "Parameters:TimeZone" not in body and "root:" not in body


# --- Sessions and guessing. ---


def test_an_attackers_planted_cookie_is_not_signed_in_by_the_victim(app, staff):
    """The attacker keeps a copy of the cookie they planted; the victim's sign-in skips it."""
    staff.create("sam@example.com")
    attacker, victim = app.test_client(), app.test_client()
    attacker.get("/staff/sign-in")
    planted = attacker.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    victim.set_cookie(app.config["SESSION_COOKIE_NAME"], planted)
    form = {"email": "sam@example.com", "password": PASSWORD, "csrf_token": csrf_token(victim)}
    assert victim.post("/staff/sign-in", data=form).status_code == 302
    assert victim.get_cookie(app.config["SESSION_COOKIE_NAME"]).value != planted
    assert victim.get("/staff/leads/").status_code == 200
    assert attacker.get("/staff/leads/").status_code == 302


def test_sign_in_is_rate_limited_per_address_across_accounts(app, client, staff):
    staff.create("sam@example.com")
    answers = [staff.sign_in(f"guess{i}@example.com", "guess").status_code for i in range(11)]
    assert answers == [422] * 10 + [429]
    assert staff.sign_in("sam@example.com").status_code == 429  # even the right password
    elsewhere = app.test_client()
    form = {"email": "sam@example.com", "password": PASSWORD, "csrf_token": csrf_token(elsewhere)}
    other_address = {"REMOTE_ADDR": "192.0.2.7"}  # a colleague elsewhere still gets in
    signed_in = elsewhere.post("/staff/sign-in", data=form, environ_base=other_address)
    assert signed_in.status_code == 302


def test_guessing_feed_user_names_across_feeds_is_limited(database_url, tmp_path):
    app = make_app(database_url, tmp_path, FEED_RATE_LIMIT="5 per minute")
    client, seed, admin = app.test_client(), Seed(app), StaffActions(app, app.test_client())
    admin.as_role("admin")
    won_path, won_user, won_password = create_feed(admin, seed.goal("Won", created_at=OLD))
    lost_path, lost_user, lost_password = create_feed(admin, seed.goal("Lost", created_at=OLD))
    guesses = [
        (won_path, "feed-000000000000", won_password),
        (won_path, "feed-000000000001", won_password),
        (lost_path, won_user, won_password),  # one feed's credentials on another
        ("/feeds/microsoft/sold.csv", won_user, won_password),  # a feed that does not exist
        ("/feeds/google/won.csv", won_user, won_password),
    ]
    answers = [client.get(path, headers=basic(user, password)).status_code
               for path, user, password in guesses]  # fmt: skip
    assert answers == [401] * 5
    assert client.get(lost_path, headers=basic(lost_user, lost_password)).status_code == 429
    platform = {"REMOTE_ADDR": "192.0.2.7"}  # the guesser does not lock the platform out
    fetched = client.get(lost_path, headers=basic(lost_user, lost_password), environ_base=platform)
    assert fetched.status_code == 200
