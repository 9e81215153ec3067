"""Personal data as the GDPR expects: erasing a lead, handing a person's data over, and
retention, on SQLite (file bytes included) and PostgreSQL."""

import html
import json
import os
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from database import db
from export.feeds import create_feed
from export.run import run_export
from leads.models import Conversion, Lead, LeadSearchWord
from staff.models import AuditEvent
from tests.conftest import Seed

NOW = datetime.now(UTC).replace(microsecond=0)
MSCLKID = "f894f652ea334e739002f7167ab8f8e3"
ADA = {"name": "Ada Zyxwvut", "email": "ada.zyxwvut@example.com", "phone": "+14255550199",
       "company": "Qwertyuiop Ltd", "message": "Call me on Tuesday", "shoe_size": "41",
       "msclkid": MSCLKID, "landing_url": "https://shop.example/offer?email=ada.zyxwvut%40example.com",
       "referrer": "https://search.example/?q=ada+zyxwvut"}  # fmt: skip
PERSONAL = ("Zyxwvut", "zyxwvut", "4255550199", "Qwertyuiop", "Call me on Tuesday", "shoe_size")


def text_of(response) -> str:
    page = html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))
    return re.sub(r"\s+", " ", page)


def post_lead(app, days_ago: float, **fields) -> int:
    answer = app.test_client().post("/leads", json=fields)
    assert answer.status_code == 201
    with app.app_context():
        lead = db.session.scalar(db.select(Lead).where(Lead.public_id == answer.json["id"]))
        lead.created_at = NOW - timedelta(days=days_ago)
        db.session.commit()
        return lead.id


def convert(app, lead_id: int, goal_id: int, days_ago: float) -> int:
    with app.app_context():
        conversion = Conversion(lead_id=lead_id, goal_id=goal_id, value=100, currency="USD",
                                converted_at=NOW - timedelta(days=days_ago), created_at=NOW)  # fmt: skip
        db.session.add(conversion)
        db.session.commit()
        return conversion.id


@pytest.fixture
def ada(app):
    """Ada's lead with one conversion already exported and one waiting, and Bob's lead."""
    goal = Seed(app).goal("Closed won", microsoft_hashed=True, google_enhanced=True,
                          created_at=NOW - timedelta(days=30))  # fmt: skip
    lead = post_lead(app, 5, **ADA)
    convert(app, lead, goal, days_ago=4)
    with app.app_context():
        run_export(app.config["EXPORT_DIR"])
    convert(app, lead, goal, days_ago=3)
    post_lead(app, 5, name="Bob Other", email="bob@example.com")
    return lead


def test_erasing_a_lead_removes_its_personal_data_everywhere_but_keeps_it_counted(
    app, staff, ada, database_url
):
    staff.as_role("admin")
    filler = Seed(app)
    for n in range(40):  # pages as full as a real database's: freed space is not compacted
        filler.lead(name=f"Filler Person {n}", email=f"filler{n}@example.com")
    with app.app_context():  # a lead stored days ago is in the database file, not the WAL
        if database_url.startswith("sqlite"):
            db.session.execute(db.text("PRAGMA wal_checkpoint(TRUNCATE)"))
    asked = staff.post(f"/staff/privacy/leads/{ada}/erase")
    assert asked.status_code == 200 and "Erase the personal data of lead" in text_of(asked)
    with app.app_context():
        assert db.session.get(Lead, ada).email == ADA["email"]  # nothing before the yes
    erased = staff.post(f"/staff/privacy/leads/{ada}/erase", {"confirmed": "1"})
    assert erased.status_code == 302

    with app.app_context():
        lead = db.session.get(Lead, ada)
        assert (lead.status, lead.extra, lead.name, lead.email, lead.phone) == (
            "erased", {}, None, None, None)  # fmt: skip
        assert lead.landing_url == "https://shop.example/offer"
        assert lead.referrer == "https://search.example/"
        assert db.session.scalar(db.select(db.func.count()).select_from(LeadSearchWord)
                                 .where(LeadSearchWord.lead_id == ada)) == 0  # fmt: skip
        dump = json.dumps([[list(row) for row in db.session.execute(db.select(table))]
                           for table in db.metadata.sorted_tables], default=str)  # fmt: skip
        actions = db.session.scalars(db.select(AuditEvent.action)).all()
    assert not [word for word in PERSONAL if word in dump]  # in no table
    assert "lead.erase" in actions
    if database_url.startswith("sqlite"):
        path = database_url.removeprefix("sqlite:///")
        files = [Path(p) for p in (path, path + "-wal") if os.path.exists(p)]
        stored = b"".join(file.read_bytes() for file in files)
        assert not [word for word in PERSONAL if word.encode() in stored]  # nor in free pages

    for page in (f"/staff/leads/{ada}", "/staff/leads/?status=all", "/staff/audit/"):
        shown = staff.client.get(page).get_data(as_text=True)
        assert not [word for word in PERSONAL if word in shown], page
    assert "erased the personal data of lead #1" in text_of(staff.client.get("/staff/audit/"))

    with app.app_context():
        report = run_export(app.config["EXPORT_DIR"])
        feed, password = create_feed(db.session.get(Lead, ada).conversions[0].goal, "microsoft",
                                     None, NOW)  # fmt: skip
        db.session.commit()
        path = f"/feeds/microsoft/{feed.slug}.csv"
    assert not report.files  # the waiting conversion never goes out
    import base64

    auth = base64.b64encode(f"{feed.username}:{password}".encode()).decode()
    served = app.test_client().get(path, headers={"Authorization": f"Basic {auth}"})
    assert served.status_code == 200 and MSCLKID not in served.get_data(as_text=True)
    funnel = text_of(staff.client.get("/staff/"))
    assert "2 converted" in funnel  # both conversions still count


def test_an_erased_lead_stays_erased(app, staff, ada):
    staff.as_role("admin")
    staff.post(f"/staff/privacy/leads/{ada}/erase", {"confirmed": "1"})
    again = staff.post(f"/staff/leads/{ada}/status", {"status": "new"})
    assert again.status_code == 409
    with app.app_context():
        assert db.session.get(Lead, ada).status == "erased"


def test_only_admins_erase_or_look_up_a_person(staff, ada):
    staff.as_role("sales")
    assert staff.post(f"/staff/privacy/leads/{ada}/erase", {"confirmed": "1"}).status_code == 403
    assert staff.post("/staff/privacy/", {"email": ADA["email"]}).status_code == 403


def test_a_persons_data_is_found_by_email_or_phone_and_handed_over_whole(app, staff, ada):
    staff.as_role("admin")
    other = post_lead(app, 1, name="Ada Again", email="ADA.ZYXWVUT@example.com")
    found = staff.post("/staff/privacy/", {"email": "Ada.Zyxwvut@Example.com"})
    assert "2 leads" in text_of(found) and "Bob" not in text_of(found)
    by_phone = staff.post("/staff/privacy/", {"phone": "(425) 555-0199"})
    assert "1 lead " in text_of(by_phone)

    download = staff.post("/staff/privacy/download", {"email": ADA["email"]})
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment;")
    data = download.get_json()
    assert {lead["id"] for lead in data["leads"]} == {ada, other}
    first = next(lead for lead in data["leads"] if lead["id"] == ada)
    with app.app_context():
        columns = {column.key for column in Lead.__table__.columns}
    assert columns <= set(first)  # every stored field
    assert first["extra"] == {"shoe_size": "41"} and first["phone"] == ADA["phone"]
    assert [c["param"] for c in first["click_ids"]] == ["msclkid"]
    assert len(first["conversions"]) == 2
    assert "bob@example.com" not in download.get_data(as_text=True)
    with app.app_context():
        event = db.session.scalar(db.select(AuditEvent).where(
            AuditEvent.action == "privacy.export"))  # fmt: skip
        assert sorted(event.new["leads"]) == sorted([ada, other])
    assert staff.post("/staff/privacy/", {}).status_code == 422


def test_retention_erases_old_leads_at_the_boundary_and_keeps_waiting_ones(app, runner):
    from capture.models import Click

    goal = Seed(app).goal("Closed won", created_at=NOW - timedelta(days=900))
    app.config["RETENTION_DAYS"] = 400
    just_old = post_lead(app, 400.01, name="Old Enough", email="old@example.com")
    just_young = post_lead(app, 399.99, name="Young Enough", email="young@example.com")
    waiting = post_lead(app, 500, name="Still Waiting", email="wait@example.com",
                        msclkid=MSCLKID)  # fmt: skip
    convert(app, waiting, goal, days_ago=450)  # no run has settled it yet
    with app.app_context():
        db.session.add_all([
            Click(platform="microsoft", param="msclkid", click_id="a" * 32,
                  first_seen=NOW - timedelta(days=401)),
            Click(platform="microsoft", param="msclkid", click_id="b" * 32,
                  first_seen=NOW - timedelta(days=399)),
        ])  # fmt: skip
        db.session.commit()
    old_run = os.path.join(app.config["EXPORT_DIR"], "run-000001")
    os.makedirs(old_run)
    with app.app_context():
        from export.models import ExportRun

        db.session.add(ExportRun(started_at=NOW - timedelta(days=401), host="h", status="finished"))
        db.session.commit()

    result = runner.invoke(args=["retention", "run"])
    assert result.output == ("Retention 400 days: erased 1 leads (kept 1 whose conversions wait "
                             "for export), deleted 1 clicks and 1 export run folders.\n")  # fmt: skip
    with app.app_context():
        statuses = {lead.id: lead.status for lead in db.session.scalars(db.select(Lead))}
        clicks = db.session.scalars(db.select(Click.click_id)).all()
    assert statuses == {just_old: "erased", just_young: "new", waiting: "new"}
    assert clicks == ["b" * 32]
    assert not os.path.exists(old_run)
    again = runner.invoke(args=["retention", "run"])
    assert "erased 0 leads" in again.output


def test_two_retention_runs_at_once_do_the_work_once(app, tmp_path):
    from privacy.retention import run_retention

    for n in range(30):
        post_lead(app, 500, email=f"old{n}@example.com")
    results, start = [], threading.Barrier(2)

    def run():
        with app.app_context():
            start.wait()
            results.append(run_retention(datetime.now(UTC), 400, str(tmp_path)))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(r.erased for r in results) in ([0, 30], [30, 30 - 30])
    assert sum(r.erased for r in results) == 30
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Lead)
                                 .where(Lead.status == "erased")) == 30  # fmt: skip
