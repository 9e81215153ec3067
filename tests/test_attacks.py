"""Attacks through the data: stored XSS, CSV formulas, SQL in the search box (issue 6).

Each test posts or stores what an attacker would and asserts what staff would see: pages
that show the payload as text, files a spreadsheet opens without running anything, a search
that finds only what it should. Access attacks are in test_attacks_access.py.
"""

import csv
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import escape

from database import db
from export.formats import FILE_KINDS, AdjustmentRow, ConversionRow, spreadsheet_safe
from export.run import run_export
from leads.contact import search_words
from leads.models import Goal, Lead
from tests.test_export_pages import basic, create_feed
from tests.test_export_run import GCLID, LATER, MSCLKID, OLD, converted_lead, uploads

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
JS_URL = "javascript:alert(1)"
TEMPLATE = "{{7*7}}"
BROWSER = {"Accept": "text/html,application/xhtml+xml"}
NEW_PASSWORD = "a new long password"

# Every field a visitor's browser can send, each payload marked with its field so that
# the test can find it again. The msclkid is valid, so the lead reaches an export file.
HOSTILE_LEAD = {
    "name": f"{SCRIPT} name",
    "email": f'"{SCRIPT}"@example.com',  # a quoted local part is a valid address
    "phone": "<i>+14255550100",  # the phone parser reads past leading markup
    "company": f"{IMG} company",
    "message": f"{TEMPLATE} {SCRIPT} message",
    "landing_url": f"{JS_URL}//landing",
    "referrer": f"{JS_URL}//referrer",
    "utm_source": f"{SCRIPT} utm_source",
    "utm_campaign": f"{IMG} utm_campaign",
    "fbclid": f"{TEMPLATE} fbclid",
    "msclkid": MSCLKID,
    "gclid": f"{SCRIPT} gclid",  # invalid: kept, flagged, never exported
    "wbraid": f"{IMG} wbraid",
    f"{IMG} extra name": f"{SCRIPT} extra value",
}
NESTED = {
    "json": {"details": {"size": f"{SCRIPT} nested"}},  # shown as JSON
    "form": {"colour": [f"{SCRIPT} nested", "blue"]},  # a repeated field: a list
}
GOAL = {"name": f"{SCRIPT} goal", "microsoft_goal_name": f"{IMG} ms",
        "google_action_name": f"{TEMPLATE} google", "window_days": "90"}  # fmt: skip
STAFF_NAME = f"{IMG} staff"
INVITED = '"<svg/onload=alert(1)>"@example.com'
URL_ATTRIBUTES = ("href", "src", "action", "formaction")


class ActiveContent(HTMLParser):
    """Collect what a browser would run: script elements, event handlers, javascript: URLs."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.found.append("<script>")
        for name, value in attrs:
            url = (value or "").strip().lower()
            if name.startswith("on") or (name in URL_ATTRIBUTES and url.startswith("javascript:")):
                self.found.append(f"<{tag} {name}={value}>")


def active_content(html: str) -> list[str]:
    parser = ActiveContent()
    parser.feed(html)
    parser.close()
    return parser.found


def assert_inert(html: str, *shown: str) -> None:
    """Assert the page runs nothing and shows each text as text (HTML- or JSON-escaped)."""
    assert active_content(html) == []
    assert "<script>alert" not in html
    for text in shown:
        assert str(escape(text)) in html or htmlsafe_json_dumps(text)[1:-1] in html, text


def post_hostile_lead(app, client, via: str) -> int:
    """Post the hostile lead through the public intake; return its id, arrived an hour ago."""
    body = {**HOSTILE_LEAD, **NESTED[via]}
    if via == "json":
        assert client.post("/leads", json=body).status_code == 201
    else:
        assert client.post("/leads", data=body).status_code == 303
    with app.app_context():
        lead = db.session.execute(db.select(Lead)).scalar_one()
        # Arrived earlier, so that a conversion a few minutes ago comes after the click.
        lead.created_at -= timedelta(hours=1)
        db.session.commit()
        return lead.id


def stage_hostile_workspace(app, staff, lead_id: int) -> dict:
    """As an admin, add a hostile goal, conversion, export run, own name and invitation."""
    assert staff.post("/staff/goals/new", GOAL).status_code == 302
    with app.app_context():
        goal_id = db.session.execute(db.select(Goal.id)).scalar_one()
    moment = datetime.now(UTC) - timedelta(minutes=5)
    converted = staff.post(f"/staff/leads/{lead_id}/conversions",
                           {"goal_id": goal_id, "converted_at": f"{moment:%Y-%m-%dT%H:%M}",
                            "confirmed": "1"})  # fmt: skip
    assert converted.status_code == 302
    later = datetime.now(UTC) + timedelta(hours=7)  # the goal and click are old enough
    with app.app_context():
        run = run_export(app.config["EXPORT_DIR"], clock=lambda: later)
    assert run.rows["microsoft-conversions"] == 1
    account = {"name": STAFF_NAME, "timezone": "UTC", "password": NEW_PASSWORD,
               "confirm": NEW_PASSWORD}  # fmt: skip
    assert staff.post("/staff/account", account).status_code == 302
    invitation = staff.post("/staff/users/invite", {"email": INVITED, "role": "sales"},
                            follow_redirects=True)  # fmt: skip
    assert invitation.status_code == 200
    assert_inert(invitation.get_data(as_text=True), INVITED)
    return {"goal": goal_id, "run": run.run_id}


@pytest.mark.parametrize("via", ["json", "form"])
def test_stored_xss_is_shown_as_text_on_every_staff_page(app, client, staff, via):
    lead_id = post_hostile_lead(app, client, via)
    staff.as_role("admin")
    ids = stage_hostile_workspace(app, staff, lead_id)
    extra_name = next(name for name in HOSTILE_LEAD if name.startswith(IMG))
    lead_texts = [*HOSTILE_LEAD.values(), extra_name, f"{SCRIPT} nested", GOAL["name"]]
    listed = [HOSTILE_LEAD["name"], HOSTILE_LEAD["email"]]
    goal_names = list(GOAL.values())[:3]
    pages = {
        "/staff/leads/": listed,
        f"/staff/leads/{lead_id}": lead_texts,
        "/staff/audit/": [*goal_names, STAFF_NAME, INVITED],
        "/staff/goals/": goal_names,
        f"/staff/goals/{ids['goal']}": goal_names,
        "/staff/exports/": [],
        f"/staff/exports/runs/{ids['run']}": [GOAL["name"], GOAL["microsoft_goal_name"]],
        "/staff/exports/feeds": [GOAL["name"]],
        "/staff/users/": [STAFF_NAME],
        "/staff/account": [STAFF_NAME],
    }
    for url, shown in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert_inert(response.get_data(as_text=True), *shown)
    for q in (HOSTILE_LEAD["name"], HOSTILE_LEAD["email"]):  # the search box echoes q
        found = client.get("/staff/leads/", query_string={"q": q}).get_data(as_text=True)
        assert f'href="/staff/leads/{lead_id}"' in found
        assert_inert(found, q)
    detail = client.get(f"/staff/leads/{lead_id}")
    assert "script-src 'none'" in detail.headers["Content-Security-Policy"]


@pytest.mark.parametrize("field", ["country", "ad_user_data", "ad_personalization"])
def test_a_refused_field_is_not_echoed_back(app, client, field):
    body = {"email": "a@example.com", field: SCRIPT}
    as_json = client.post("/leads", json=body)
    as_form = client.post("/leads", data=body, headers=BROWSER)
    assert as_json.status_code == as_form.status_code == 422
    assert field in as_json.get_json()["errors"]
    assert as_form.mimetype == "text/html"
    assert_inert(as_form.get_data(as_text=True))
    assert SCRIPT not in as_json.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(db.select(Lead)).first() is None


# --- CSV formulas: the conversion name is the one free-text cell of the upload files. ---

FORMULAS = ['=HYPERLINK("https://evil.example","Won")', "+1+1", "-2+3", "@SUM(A1:A9)"]


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        *((formula, "'" + formula) for formula in FORMULAS),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Closed won", "Closed won"),
        ("Won (=offline) - 2026", "Won (=offline) - 2026"),
        ("", ""),
    ],
)
def test_a_formula_in_a_free_text_cell_is_neutralised(text, cell):
    assert spreadsheet_safe(text) == cell


@pytest.mark.parametrize("kind", FILE_KINDS)
def test_every_file_neutralises_the_name_and_keeps_ids_untouched(kind):
    when = datetime(2026, 10, 1, 14, 5, tzinfo=UTC)
    keys = {"msclkid": MSCLKID, "gclid": GCLID}
    row = (ConversionRow("=1+1", when, Decimal("10"), "USD", **keys)
           if FILE_KINDS[kind].subject == "conversion"
           else AdjustmentRow("=1+1", when, "restate", when, Decimal("10"), "USD", **keys))  # fmt: skip
    header, cells = list(csv.reader(FILE_KINDS[kind].render([row]).splitlines()[1:]))
    record = dict(zip(header, cells, strict=True))
    assert record["Conversion Name"] == "'=1+1"
    assert record.get("Microsoft Click ID", keys["msclkid"]) == keys["msclkid"]
    assert record.get("Google Click ID", GCLID) == GCLID


def test_a_stored_formula_name_is_neutralised_in_files_and_feeds(app, staff, seed, tmp_path):
    """A goal stored before the form refused formulas still cannot run in a spreadsheet."""
    goal = seed.goal("Won", created_at=OLD, microsoft_goal_name=FORMULAS[0],
                     google_action_name=FORMULAS[3])  # fmt: skip
    converted_lead(seed, goal)
    with app.app_context():
        run_export(str(tmp_path / "files"), clock=lambda: LATER)
    files = uploads(tmp_path / "files")
    assert [r["Conversion Name"] for r in files["microsoft-conversions"]] == ["'" + FORMULAS[0]]
    (google,) = files["google-clicks"]
    assert (google["Conversion Name"], google["Google Click ID"]) == ("'" + FORMULAS[3], GCLID)
    staff.as_role("admin")
    path, username, password = create_feed(staff, goal, "google")
    feed = staff.client.get(path, headers=basic(username, password)).get_data(as_text=True)
    assert f"\r\n{GCLID},'{FORMULAS[3]}," in feed


@pytest.mark.parametrize("field", ["microsoft_goal_name", "google_action_name"])
@pytest.mark.parametrize("name", [*FORMULAS, "\t=1+1"])
def test_the_goal_form_refuses_a_name_a_spreadsheet_would_run(app, staff, field, name):
    staff.as_role("admin")
    page = staff.post("/staff/goals/new", {"name": "Won", "window_days": "90", field: name})
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "as a formula" in html.split(f'id="{field}-error">')[1].split("</p>")[0]
    with app.app_context():
        assert db.session.execute(db.select(Goal)).first() is None


# --- SQL in the search box: bound parameters and prefix ranges, never LIKE. ---

SQL_PAYLOADS = ["' OR 1=1 --", "%' OR '1'='1", '"; DROP TABLE leads; --', "\\", "%", "_",
                "1); DELETE FROM leads; --", "' UNION SELECT email FROM leads --"]  # fmt: skip


@pytest.mark.parametrize("payload", SQL_PAYLOADS)
def test_sql_in_the_search_box_matches_only_as_text(app, staff, seed, payload):
    named = seed.lead(name=f"{payload} Ada", email="ada@example.com")
    seed.lead(name="Bob", email="bob@example.com")
    staff.as_role("viewer")
    response = staff.client.get("/staff/leads/", query_string={"q": payload})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    if search_words(payload):  # found by its words, as text
        assert f'href="/staff/leads/{named}"' in html
    else:  # only symbols: no word to find, and never a wildcard that finds everyone
        assert "No leads match." in html
    assert "bob@example.com" not in html
    with app.app_context():
        assert len(db.session.execute(db.select(Lead)).all()) == 2


def test_a_nul_in_the_search_box_is_ignored_not_a_server_error(staff, seed):
    ada = seed.lead(name="Ada", email="ada@example.com")
    seed.lead(name="Bob", email="bob@example.com")
    staff.as_role("viewer")
    for q in ("ada\x00", "\x00ada@"):
        response = staff.client.get("/staff/leads/", query_string={"q": q})
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert f'href="/staff/leads/{ada}"' in html and "bob@example.com" not in html
