"""Sign-in, roles, CSRF, invitations and password resets."""

import re
import time
from datetime import UTC, datetime, timedelta

import pytest

from database import db
from staff.models import StaffUser
from tests.conftest import PASSWORD, csrf_token

PUBLIC_STAFF_URLS = {"/staff/sign-in", "/staff/invitation", "/staff/reset"}


def staff_urls(app):
    """Every URL of the workspace, with placeholder arguments, and its methods."""
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/staff"):
            url = re.sub(r"<int:\w+>", "1", rule.rule)
            url = re.sub(r"<\w+>", "x", url)
            yield url, rule.methods - {"HEAD", "OPTIONS"}


def test_every_staff_url_refuses_anonymous_requests(app, client):
    urls = list(staff_urls(app))
    assert len(urls) >= 15
    for url, methods in urls:
        if url in PUBLIC_STAFF_URLS:
            continue
        if "GET" in methods:
            response = client.get(url)
            assert response.status_code == 302, url
            assert response.headers["Location"].startswith("/staff/sign-in"), url
        if "POST" in methods:
            response = client.post(url, data={"csrf_token": csrf_token(client)})
            assert response.status_code in (302, 400), url
            assert response.status_code != 200


def test_token_links_are_refused_without_a_valid_token(client):
    for path in ("/staff/invitation", "/staff/reset"):
        assert client.get(path).status_code == 410
        assert client.get(f"{path}?token=x").status_code == 410


def test_post_without_csrf_token_is_refused(app, client, staff):
    staff.as_role("admin")
    response = client.post("/staff/goals/new", data={"name": "Won", "google_action_name": "Won"})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    ok = staff.post("/staff/goals/new", {"name": "Won", "google_action_name": "Won"})
    assert ok.status_code == 302


ROLE_MATRIX = [
    ("viewer", "GET", "/staff/leads/", 200),
    ("viewer", "GET", "/staff/leads/1", 200),
    ("viewer", "GET", "/staff/goals/", 200),
    ("viewer", "POST", "/staff/leads/1/conversions", 403),
    ("viewer", "POST", "/staff/leads/bulk-convert", 403),
    ("viewer", "POST", "/staff/leads/1/status", 403),
    ("viewer", "POST", "/staff/leads/conversions/1/retract", 403),
    ("viewer", "GET", "/staff/goals/new", 403),
    ("viewer", "GET", "/staff/users/", 403),
    ("viewer", "GET", "/staff/audit/", 403),
    ("sales", "POST", "/staff/leads/1/conversions", 302),
    ("sales", "POST", "/staff/leads/conversions/1/retract", 302),
    ("sales", "GET", "/staff/goals/new", 403),
    ("sales", "POST", "/staff/users/invite", 403),
    ("sales", "GET", "/staff/audit/", 403),
    ("admin", "GET", "/staff/goals/new", 200),
    ("admin", "GET", "/staff/users/", 200),
    ("admin", "GET", "/staff/audit/", 200),
    ("admin", "POST", "/staff/leads/1/conversions", 302),
]


@pytest.mark.parametrize(("role", "method", "url", "status"), ROLE_MATRIX)
def test_role_matrix(app, client, staff, seed, role, method, url, status):
    seed.lead_with_conversion()
    staff.as_role(role)
    if method == "GET":
        response = client.get(url)
    else:
        hour_ago = datetime.now(UTC) - timedelta(hours=1)
        form = {"goal_id": "1", "converted_at": f"{hour_ago:%Y-%m-%dT%H:%M}", "confirmed": "1"}
        response = staff.post(url, form)
    assert response.status_code == status


def test_wrong_password_and_unknown_email_get_the_same_answer(client, staff):
    staff.create("sam@example.com")
    wrong = staff.sign_in("sam@example.com", "not the password")
    unknown = staff.sign_in("nobody@example.com")
    assert wrong.status_code == unknown.status_code == 422
    assert "Wrong email or password." in wrong.get_data(as_text=True)
    assert "Wrong email or password." in unknown.get_data(as_text=True)
    assert client.get("/staff/leads/").status_code == 302


def test_deactivated_staff_cannot_sign_in_and_are_signed_out(app, client, staff):
    user_id = staff.create("sam@example.com")
    assert staff.sign_in("sam@example.com").status_code == 302
    with app.app_context():
        db.session.get(StaffUser, user_id).active = False
        db.session.commit()
    assert client.get("/staff/leads/").status_code == 302
    assert staff.sign_in("sam@example.com").status_code == 422


def test_sign_in_is_rate_limited_per_account(client, staff):
    staff.create("sam@example.com")
    answers = [staff.sign_in("sam@example.com", "guess").status_code for _ in range(6)]
    assert answers == [422] * 5 + [429]
    assert staff.sign_in("sam@example.com").status_code == 429


def test_session_starts_fresh_at_sign_in(app, client, staff):
    staff.create("sam@example.com")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        session["sid"] = "chosen by an attacker"
    staff.sign_in("sam@example.com")
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["sid"] != "chosen by an attacker"


def test_password_change_signs_out_other_sessions(app, staff):
    staff.as_role("sales")
    other = app.test_client()
    assert other.post("/staff/sign-in", data={
        "email": "sales@example.com", "password": PASSWORD, "csrf_token": csrf_token(other)
    }).status_code == 302  # fmt: skip
    changed = staff.post("/staff/account", {"name": "Sal", "timezone": "Europe/Stockholm",
                                            "password": "a new long password", "confirm": "a new long password"})  # fmt: skip
    assert changed.status_code == 302
    assert staff.client.get("/staff/leads/").status_code == 200
    assert other.get("/staff/leads/").status_code == 302


def invitation_link(staff, email="new@example.com", role="sales") -> str:
    invited = staff.post("/staff/users/invite", {"email": email, "role": role})
    assert invited.status_code == 302
    page = staff.client.get(invited.headers["Location"])
    assert "Pending invitations" in page.get_data(as_text=True)
    assert email in page.get_data(as_text=True).split("Pending invitations")[1]
    again = staff.client.get("/staff/users/").get_data(as_text=True)
    assert 'id="one-time-link"' not in again  # shown once, and a reload invites nobody
    return re.search(
        r'id="one-time-link">http://localhost([^<]+)<', page.get_data(as_text=True)
    ).group(1)


def accept(client, link, password="a long enough password"):
    return client.post(link, data={"name": "Nia", "timezone": "Europe/Stockholm", "password": password,
                                   "confirm": password, "csrf_token": csrf_token(client, link)})  # fmt: skip


def test_invitation_link_works_once(app, staff):
    staff.as_role("admin")
    link = invitation_link(staff)
    colleague = app.test_client()
    assert accept(colleague, link).status_code == 302
    assert colleague.get("/staff/leads/").status_code == 200
    with app.app_context():
        user = db.session.execute(
            db.select(StaffUser).filter_by(email="new@example.com")
        ).scalar_one()
        assert (user.role, user.timezone, user.name) == ("sales", "Europe/Stockholm", "Nia")
    again = app.test_client()
    assert again.get(link).status_code == 410


def test_invitation_link_expires(app, staff, monkeypatch):
    staff.as_role("admin")
    link = invitation_link(staff)
    monkeypatch.setattr("staff.auth.INVITATION_MAX_AGE", 1)
    time.sleep(2.1)
    assert app.test_client().get(link).status_code == 410


def test_tampered_invitation_link_is_refused(app, staff):
    staff.as_role("admin")
    link = invitation_link(staff)
    assert app.test_client().get(link[:-3] + "abc").status_code == 410


def test_invitation_refuses_a_short_password_next_to_the_field(app, staff):
    staff.as_role("admin")
    link = invitation_link(staff)
    page = accept(app.test_client(), link, "short")
    assert page.status_code == 422
    assert 'id="password-error">Use at least 12 characters.' in page.get_data(as_text=True)


def test_reset_link_from_the_command_line_works_once(app, runner, staff):
    staff.create("sam@example.com")
    link = runner.invoke(args=["staff", "reset-link", "sam@example.com"]).output.strip()
    path = link.replace(app.config["PUBLIC_URL"], "")
    assert path.startswith("/staff/reset?token=")
    client = app.test_client()
    token = csrf_token(client, path)
    new = "another long password"
    done = client.post(path, data={"password": new, "confirm": new, "csrf_token": token})
    assert done.status_code == 302
    assert app.test_client().get(path).status_code == 410
    assert staff.sign_in("sam@example.com", new).status_code == 302


def test_staff_add_prompts_for_the_password(app, runner):
    result = runner.invoke(args=["staff", "add", "Boss@Example.com", "--role", "admin"],
                           input=f"{PASSWORD}\n{PASSWORD}\n")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Added Boss@Example.com as admin" in result.output
    with app.app_context():
        user = db.session.execute(db.select(StaffUser)).scalar_one()
        assert (user.email, user.role) == ("boss@example.com", "admin")
        assert user.password_hash != PASSWORD and user.check_password(PASSWORD)
    again = runner.invoke(args=["staff", "add", "boss@example.com", "--password", PASSWORD])
    assert again.exit_code != 0 and "has an account already" in again.output
    short = runner.invoke(args=["staff", "add", "x@example.com", "--password", "short"])
    assert short.exit_code != 0 and "12 characters" in short.output


def test_staff_pages_are_not_cached_framed_or_scripted(client, staff):
    staff.as_role("viewer")
    response = client.get("/staff/leads/")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "script-src 'none'" in response.headers["Content-Security-Policy"]
    assert "Content-Security-Policy" not in client.get("/capture.js").headers
