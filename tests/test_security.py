"""Findings of an independent attack probe on the staff pages, each fixed and kept fixed."""

import http.client
import re
from pathlib import Path

import pytest

from bench.common import Gunicorn, bench_environment, upgrade
from tests.conftest import csrf_token

BEYOND_64_BITS = 2**64 + 1
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.mark.parametrize(
    "path",
    ["/healthz", "/capture.js", "/openapi.json", "/staff/sign-in", "/staff/leads/",
     "/staff/leads/1", "/no-such-page", "/feeds/microsoft/nope.csv", "/demo/"],
)  # fmt: skip
def test_every_answer_forbids_content_sniffing(client, staff, path):
    staff.as_role("viewer")
    response = client.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff", response.status


@pytest.mark.parametrize(
    "path",
    [f"/staff/leads/{BEYOND_64_BITS}", f"/staff/leads/{2**31}", "/staff/leads/0",
     f"/staff/goals/{BEYOND_64_BITS}", f"/staff/exports/runs/{BEYOND_64_BITS}",
     f"/staff/exports/files/{2**40}", f"/staff/exports/excluded?goal={BEYOND_64_BITS}"
     "&platform=google&code=no_key"],
)  # fmt: skip
def test_ids_no_row_can_have_are_not_found(staff, path):
    staff.as_role("admin")
    assert staff.client.get(path).status_code == 404


def test_ids_beyond_any_row_in_forms_are_refused_not_errors(staff, seed):
    lead = seed.lead()
    staff.as_role("admin")
    converted = staff.post(f"/staff/leads/{lead}/conversions",
                           {"goal_id": BEYOND_64_BITS, "converted_at": "2026-11-01T10:00"})  # fmt: skip
    assert converted.status_code == 422 and "Choose a goal." in converted.get_data(as_text=True)
    bulk = staff.post("/staff/leads/bulk-convert", {"lead_id": [BEYOND_64_BITS],
                                                    "goal_id": BEYOND_64_BITS})  # fmt: skip
    assert bulk.status_code == 302
    assert staff.client.get(f"/staff/audit/?before={BEYOND_64_BITS}").status_code == 200


@pytest.mark.parametrize(
    "query",
    ["until=9999-12-31", "since=0001-01-01", "until=3000-01-01",
     "before=99999999999999999.1", f"before=1700000000000000.{BEYOND_64_BITS}",
     "before=" + "9" * 5000 + ".1"],
)  # fmt: skip
def test_search_filters_out_of_any_leads_range_are_a_bad_request(staff, query):
    staff.as_role("viewer")
    answer = staff.client.get(f"/staff/leads/?{query}")
    assert answer.status_code == 400
    assert "range" in answer.get_data(as_text=True) or "between" in answer.get_data(as_text=True)


def test_signing_out_ends_the_session_for_a_copied_cookie_too(app, staff):
    staff.as_role("sales")
    copied = app.test_client()
    cookie = staff.client.get_cookie("session")
    copied.set_cookie("session", cookie.value)
    assert copied.get("/staff/leads/").status_code == 200
    staff.post("/staff/sign-out")
    assert staff.client.get("/staff/leads/").status_code == 302
    answer = copied.get("/staff/leads/")
    assert answer.status_code == 302 and "/staff/sign-in" in answer.headers["Location"]


def test_a_guesser_elsewhere_cannot_lock_the_real_user_out(app, staff):
    staff.create("sam@example.com")
    guesser = app.test_client()
    for attempt in range(8):
        token = csrf_token(guesser)
        guesser.post("/staff/sign-in", data={"email": "sam@example.com", "password": "guess",
                                             "csrf_token": token},
                     environ_base={"REMOTE_ADDR": f"203.0.113.{attempt // 3}"})  # fmt: skip
    assert staff.sign_in("sam@example.com").status_code == 302


def test_one_time_links_never_reach_the_access_log(tmp_path):
    database = tmp_path / "log.db"
    log = tmp_path / "access.log"
    env = {**bench_environment(f"sqlite:///{database}"), "GUNICORN_ACCESSLOG": str(log)}
    upgrade(env)
    server = Gunicorn("wsgi:app", env, workers=1, threads=2)
    token = "eyJpbnZpdGF0aW9uIjoxfQ.Z0VbCg.secret-part-of-a-one-time-link"
    try:
        for path in (f"/staff/invitation?token={token}", f"/staff/reset?token={token}"):
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            connection.request("GET", path)
            assert connection.getresponse().status == 410
            connection.close()
    finally:
        server.stop()
    lines = Path(log).read_text().splitlines()
    visits = [line for line in lines if re.search(r'"GET /staff/(invitation|reset) ', line)]
    assert len(visits) == 2, lines
    assert not any(token in line or "token" in line for line in lines)


def test_staff_error_pages_keep_the_layout_and_a_way_back(app, staff, seed, monkeypatch):
    staff.as_role("viewer")
    pages = {
        403: staff.client.get("/staff/users/", headers=BROWSER),
        404: staff.client.get("/staff/leads/999", headers=BROWSER),
        405: staff.client.get("/staff/sign-out", headers=BROWSER),
    }
    monkeypatch.setattr("workspace.leads.leads_query", lambda *args: 1 / 0)
    pages[500] = staff.client.get("/staff/leads/", headers=BROWSER)
    for code, page in pages.items():
        html = page.get_data(as_text=True)
        assert page.status_code == code, (code, html)
        assert '<a href="/staff/goals/">Goals</a>' in html  # the workspace's own header
        assert 'href="/staff/leads/">Back to the leads</a>' in html
        assert "ZeroDivisionError" not in html


def test_too_many_tries_is_said_plainly_in_the_layout(staff):
    staff.create("sam@example.com")
    for _ in range(5):
        staff.sign_in("sam@example.com", "guess")
    refused = staff.client.post("/staff/sign-in", headers=BROWSER, data={
        "email": "sam@example.com", "password": "guess", "csrf_token": csrf_token(staff.client)
    })  # fmt: skip
    html = refused.get_data(as_text=True)
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    assert "Too many tries in a short time." in html and "per 1 minute" not in html
    assert 'href="/staff/sign-in">Sign in</a>' in html


def test_reloading_a_refused_forms_address_goes_back_to_its_page(staff, seed):
    lead = seed.lead()
    staff.as_role("sales")
    refused = staff.post(f"/staff/leads/{lead}/conversions", {"goal_id": "", "converted_at": ""})
    assert refused.status_code == 422
    for path in (f"/staff/leads/{lead}/conversions", f"/staff/leads/{lead}/status"):
        again = staff.client.get(path)
        assert again.status_code == 302 and again.headers["Location"] == f"/staff/leads/{lead}"
    assert staff.client.get("/staff/leads/bulk-convert").headers["Location"] == "/staff/leads/"


def test_the_time_zone_picker_groups_real_zones_common_first(staff):
    staff.as_role("sales", timezone="Europe/Stockholm")
    page = staff.client.get("/staff/account").get_data(as_text=True)
    groups = re.findall(r'<optgroup label="([^"]+)">', page)
    assert groups[0] == "Common" and "Europe" in groups and "America" in groups
    options = re.findall(r'<option value="([^"]+)"', page)
    assert not {"Factory", "localtime", "US/Eastern", "Etc/GMT+5", "posixrules"} & set(options)
    assert options[:2] == ["Europe/Stockholm", "UTC"]  # one's own zone, then the common ones
    assert len(re.findall(r'<option value="[^"]+" selected', page)) == 1
