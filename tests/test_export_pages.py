"""Feeds with their credentials, the staff Exports pages, and per-lead export status."""

import re
from base64 import b64encode
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from database import db
from export.models import Feed, FeedFetch
from export.run import run_export
from tests.test_export_formats import read_upload
from tests.test_export_run import GCLID, MSCLKID, OLD, converted_lead

NOW = datetime.now(UTC)


def basic(username: str, password: str) -> dict:
    token = b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def goal(seed):
    return seed.goal("Closed won", created_at=OLD)


def create_feed(staff, goal: int, platform: str = "microsoft") -> tuple[str, str, str]:
    """Create a feed on the admin page; return its path, user name and password."""
    created = staff.post("/staff/exports/feeds", {"goal_id": goal, "platform": platform})
    assert created.status_code == 302  # then a GET: reloading it creates nothing
    page = staff.client.get(created.headers["Location"])
    html = page.get_data(as_text=True)
    path = re.search(r"http://[^/<]+(/feeds/[^<]+)</code>", html).group(1)
    username = re.search(r"<code>(feed-[0-9a-f]+)</code>", html).group(1)
    password = re.search(r'<code id="feed-password">([^<]+)</code>', html).group(1)
    return path, username, password


def fetches(app) -> list[tuple]:
    with app.app_context():
        rows = db.session.execute(
            select(FeedFetch.status, FeedFetch.rows).order_by(FeedFetch.id)
        ).all()
        return [tuple(row) for row in rows]


def test_a_feed_serves_the_rolling_window_to_the_right_credentials_only(app, client, staff,
                                                                         seed, goal):  # fmt: skip
    converted_lead(seed, goal)
    old = seed.lead(created_at=OLD - timedelta(days=40),
                    click_ids=(("msclkid", "microsoft", "b" * 32),))  # fmt: skip
    seed.conversion(old, goal, converted_at=NOW - timedelta(days=30))  # outside 14 days
    staff.as_role("admin")
    path, username, password = create_feed(staff, goal)
    assert path == "/feeds/microsoft/closed-won.csv"

    client.get("/staff/sign-out")
    assert client.get(path).status_code == 401
    assert client.get(path).headers["WWW-Authenticate"].startswith("Basic")
    assert client.get(path, headers=basic(username, password + "x")).status_code == 401
    assert client.get(path, headers=basic("feed-000000000000", password)).status_code == 401
    assert client.get("/feeds/google/closed-won.csv",
                      headers=basic(username, password)).status_code == 401  # fmt: skip
    answer = client.get(path, headers=basic(username, password))
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    records = read_upload(answer.get_data(as_text=True), "microsoft_conversions")
    assert [r["Microsoft Click ID"] for r in records] == [MSCLKID]
    assert fetches(app)[-1] == (200, 1)
    assert [status for status, _ in fetches(app)] == [401, 401, 401, 401, 401, 200]
    # Fetching changes nothing the nightly files will contain.
    with app.app_context():
        assert run_export(app.config["EXPORT_DIR"]).rows["microsoft-conversions"] == 2


def test_a_revoked_feed_refuses_its_credentials(app, client, staff, seed, goal):
    staff.as_role("admin")
    path, username, password = create_feed(staff, goal, "google")
    assert client.get(path, headers=basic(username, password)).status_code == 200
    with app.app_context():
        feed_id = db.session.scalar(select(Feed.id))
        assert db.session.get(Feed, feed_id).password_sha256 != password
    asked = staff.post(f"/staff/exports/feeds/{feed_id}/revoke")
    assert "Revoke the feed" in asked.get_data(as_text=True)
    assert (
        staff.post(f"/staff/exports/feeds/{feed_id}/revoke", {"confirmed": "1"}).status_code == 302
    )
    assert client.get(path, headers=basic(username, password)).status_code == 401


def test_feed_password_guessing_is_limited(app, client, staff, seed, goal):
    staff.as_role("admin")
    path, username, password = create_feed(staff, goal)
    statuses = {client.get(path, headers=basic(username, f"guess{i}")).status_code
                for i in range(31)}  # fmt: skip
    assert statuses == {401, 429}
    assert client.get(path, headers=basic(username, password)).status_code == 429


@pytest.mark.parametrize("name", ["..%2F..%2Fetc%2Fpasswd", "%2e%2e", "CLOSED-WON", "a" * 80])
def test_odd_feed_names_are_refused_without_an_error(client, name):
    assert client.get(f"/feeds/microsoft/{name}.csv").status_code in (401, 404)


def test_only_admins_manage_feeds(staff, seed, goal):
    staff.as_role("sales")
    assert staff.client.get("/staff/exports/feeds").status_code == 403
    assert (
        staff.post("/staff/exports/feeds", {"goal_id": goal, "platform": "google"}).status_code
        == 403
    )


def test_staff_see_runs_files_and_skips_and_download_files(app, staff, seed, goal):
    converted_lead(seed, goal)
    converted_lead(seed, goal, click_ids=(("msclkid", "microsoft", "<b>bad</b>"),))
    with app.app_context():
        report = run_export(app.config["EXPORT_DIR"], clock=lambda: NOW + timedelta(hours=7))
    staff.as_role("sales")
    runs = staff.client.get("/staff/exports/").get_data(as_text=True)
    assert f'href="/staff/exports/runs/{report.run_id}"' in runs
    page = staff.client.get(f"/staff/exports/runs/{report.run_id}").get_data(as_text=True)
    assert "excluded: no usable click ID or hashed contact</td><td>1<" in page
    assert "<b>bad</b>" not in page
    lead_page = staff.client.get("/staff/leads/2").get_data(as_text=True)
    assert "excluded: no valid Microsoft click ID (invalid msclkid)" in lead_page
    link = re.search(r'href="(/staff/exports/files/\d+)"', page).group(1)
    download = staff.client.get(link)
    assert download.status_code == 200
    assert download.get_data(as_text=True).startswith("Parameters:TimeZone=+0000\r\n")
    assert staff.client.get("/staff/exports/files/999").status_code == 404


def test_viewers_see_runs_but_cannot_download(app, staff, seed, goal):
    converted_lead(seed, goal)
    with app.app_context():
        run_export(app.config["EXPORT_DIR"], clock=lambda: NOW + timedelta(hours=7))
    staff.as_role("viewer")
    assert staff.client.get("/staff/exports/runs/1").status_code == 200
    assert staff.client.get("/staff/exports/files/1").status_code == 403


def test_the_lead_page_says_where_each_conversion_stands(app, staff, seed, goal):
    lead = seed.lead(created_at=NOW - timedelta(hours=3),
                     click_ids=(("msclkid", "microsoft", MSCLKID), ("gclid", "google", GCLID)))  # fmt: skip
    seed.conversion(lead, goal, converted_at=NOW - timedelta(hours=2))
    staff.as_role("sales")
    page = staff.client.get(f"/staff/leads/{lead}").get_data(as_text=True)
    assert "Microsoft</strong>: out: goes out in the next run" in page
    assert "Google</strong>: held: the click is too recent for Google (until" in page
    with app.app_context():
        run_export(app.config["EXPORT_DIR"], platforms=["microsoft"])
    page = staff.client.get(f"/staff/leads/{lead}").get_data(as_text=True)
    assert re.search(r"Microsoft</strong>: written: run-000001/\S+microsoft-conversions", page)


def test_the_feed_password_is_shown_once_and_a_reload_creates_nothing(app, staff, seed, goal):
    staff.as_role("admin")
    _, _, password = create_feed(staff, goal)
    again = staff.client.get("/staff/exports/feeds").get_data(as_text=True)
    assert password not in again and 'id="feed-password"' not in again
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Feed)) == 1
