"""Goals, marking conversions, restating and retracting, search, and escaping."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from database import db
from leads.models import Adjustment, Conversion, Goal
from staff.models import AuditEvent
from workspace import search

XSS = "<script>alert(1)</script>"


def conversions(app):
    with app.app_context():
        rows = db.session.execute(db.select(Conversion).order_by(Conversion.id)).scalars().all()
        return [(c.lead_id, c.goal_id, c.converted_at, c.value, c.currency) for c in rows]


def local(moment: datetime, zone="UTC") -> str:
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


GOAL = {"name": "Closed won", "microsoft_goal_name": "Offline Won", "google_action_name": "Won (offline)",
        "microsoft_hashed": "1", "default_value": "1500.50", "default_currency": "EUR", "window_days": "30"}  # fmt: skip


def test_admin_defines_a_goal(app, staff):
    staff.as_role("admin")
    assert staff.post("/staff/goals/new", GOAL).status_code == 302
    with app.app_context():
        goal = db.session.execute(db.select(Goal)).scalar_one()
        assert (goal.microsoft_goal_name, goal.google_action_name) == (
            "Offline Won",
            "Won (offline)",
        )
        assert (goal.microsoft_hashed, goal.google_enhanced) == (True, False)
        assert (goal.default_value, goal.default_currency, goal.window_days) == (
            Decimal("1500.5"),
            "EUR",
            30,
        )
        assert goal.created_at <= datetime.now(UTC)
        event = db.session.execute(db.select(AuditEvent)).scalars().all()[-1]
        assert (event.action, event.new["name"]) == ("goal.create", "Closed won")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": ""}, "name", "Give the goal a name."),
        ({"microsoft_goal_name": "", "google_action_name": ""}, "microsoft_goal_name", "or both"),
        ({"window_days": "91"}, "window_days", "1 to 90 days"),
        ({"window_days": "0"}, "window_days", "1 to 90 days"),
        ({"default_value": "1500,50"}, "default_value", "period"),
        ({"default_value": "1.2345"}, "default_value", "three decimals"),
        ({"default_currency": "TRL"}, "default_currency", "ISO 4217"),
        ({"default_currency": ""}, "default_currency", "currency of the default value"),
        ({"name": "x" * 101}, "name", "At most 100"),
        ({"name": "Won\x00"}, "name", "control characters"),
        ({"microsoft_goal_name": "Won\nLost"}, "microsoft_goal_name", "control characters"),
    ],
)
def test_goal_form_says_what_to_fix_next_to_the_field(app, staff, change, field, message):
    staff.as_role("admin")
    page = staff.post("/staff/goals/new", {**GOAL, **change})
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert f'id="{field}-error">' in html
    assert message in html.split(f'id="{field}-error">')[1].split("</p>")[0]
    with app.app_context():
        assert db.session.execute(db.select(Goal)).first() is None


def test_goal_names_are_unique(staff, seed):
    seed.goal("Closed won")
    staff.as_role("admin")
    page = staff.post("/staff/goals/new", GOAL)
    assert page.status_code == 422
    assert "exists already" in page.get_data(as_text=True)


def test_sales_marks_a_lead_converted_in_their_time_zone(app, staff, seed):
    goal_id = seed.goal(default_value=Decimal("250"), default_currency="SEK")
    lead_id = seed.lead(created_at=datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    staff.as_role("sales", timezone="Europe/Stockholm")
    # The lead has no click ID and the click is old: the export warns; staff go ahead.
    answer = staff.post(f"/staff/leads/{lead_id}/conversions",
                        {"goal_id": goal_id, "converted_at": "2026-03-29T03:30", "confirmed": "1"})  # fmt: skip
    assert answer.status_code == 302
    assert conversions(app) == [
        (lead_id, goal_id, datetime(2026, 3, 29, 1, 30, tzinfo=UTC), Decimal("250"), "SEK")
    ]
    page = staff.client.get(f"/staff/leads/{lead_id}").get_data(as_text=True)
    assert "2026-03-29 03:30" in page


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"converted_at": "2026-02-28T12:00"}, "converted_at", "before the lead arrived"),
        ({"converted_at": "2099-01-01T12:00"}, "converted_at", "in the future"),
        ({"converted_at": "2026-03-29T02:30"}, "converted_at", "does not exist"),
        ({"converted_at": ""}, "converted_at", "Enter the conversion time"),
        ({"value": "12,50"}, "value", "period"),
        ({"value": "-5"}, "value", "number"),
        ({"value": "1000000000000"}, "value", "at most"),
        ({"currency": "XYZ"}, "currency", "currency"),
        ({"goal_id": "999"}, "goal_id", "Choose a goal"),
    ],
)
def test_impossible_conversions_are_refused_next_to_the_field(
    app, staff, seed, form, field, message
):
    goal_id = seed.goal()
    lead_id = seed.lead(created_at=datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    staff.as_role("sales", timezone="Europe/Stockholm")
    page = staff.post(f"/staff/leads/{lead_id}/conversions",
                      {"goal_id": goal_id, "converted_at": "2026-03-10T10:00", **form})  # fmt: skip
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert message in html.split(f'id="{field}-error">')[1].split("</p>")[0]
    assert conversions(app) == []


def test_same_goal_at_the_same_time_is_refused_but_other_times_and_goals_are_not(app, staff, seed):
    won, upsell = seed.goal("Won"), seed.goal("Upsell")
    lead_id = seed.lead(created_at=datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    staff.as_role("sales")
    url = f"/staff/leads/{lead_id}/conversions"
    first = {"goal_id": won, "converted_at": "2026-03-10T10:00", "confirmed": "1"}
    assert staff.post(url, first).status_code == 302
    again = staff.post(url, {**first, "value": "5"})
    assert again.status_code == 422
    assert "already converted to Won at that time" in again.get_data(as_text=True)
    assert staff.post(url, {**first, "converted_at": "2026-03-11T10:00"}).status_code == 302
    assert staff.post(url, {**first, "goal_id": upsell}).status_code == 302
    assert len(conversions(app)) == 3


def test_bulk_convert_marks_every_selected_lead(app, staff, seed):
    goal_id = seed.goal()
    lead_ids = [seed.lead() for _ in range(20)]
    staff.as_role("sales")
    moment = local(datetime.now(UTC) - timedelta(minutes=5))
    answer = staff.post("/staff/leads/bulk-convert",
                        {"lead_id": lead_ids, "goal_id": goal_id, "converted_at": moment, "value": "99.5",
                         "confirmed": "1"})  # fmt: skip
    assert answer.status_code == 302
    done = conversions(app)
    assert sorted(row[0] for row in done) == sorted(lead_ids)
    assert {row[3] for row in done} == {Decimal("99.5")}
    assert "Marked 20 leads converted" in staff.client.get("/staff/leads/").get_data(as_text=True)


def test_bulk_convert_saves_nothing_when_one_lead_is_refused(app, staff, seed):
    goal_id = seed.goal()
    old = seed.lead(created_at=datetime.now(UTC) - timedelta(days=3))
    new = seed.lead(name="Newcomer", created_at=datetime.now(UTC) - timedelta(minutes=1))
    staff.as_role("sales")
    moment = local(datetime.now(UTC) - timedelta(days=1))
    staff.post(
        "/staff/leads/bulk-convert",
        {"lead_id": [old, new], "goal_id": goal_id, "converted_at": moment},
    )
    assert conversions(app) == []
    page = staff.client.get("/staff/leads/").get_data(as_text=True)
    assert "Newcomer: The conversion time is before the lead arrived." in page


def test_restate_then_retract_as_records_of_the_conversion(app, staff, seed):
    lead_id, conversion_id = seed.lead_with_conversion()
    staff.as_role("sales")
    base = f"/staff/leads/conversions/{conversion_id}"
    restated = {"value": "80.25", "currency": "EUR", "confirmed": "1"}  # the lead has no click ID
    assert staff.post(f"{base}/restate", restated).status_code == 302
    asked = staff.post(f"{base}/retract")
    assert asked.status_code == 200 and "Retract this conversion?" in asked.get_data(as_text=True)
    assert staff.post(f"{base}/retract", {"confirmed": "1"}).status_code == 302
    refused = staff.post(f"{base}/restate", {"value": "90", "currency": "EUR"})
    assert refused.status_code == 422
    assert "A retracted conversion cannot be restated." in refused.get_data(as_text=True)
    again = staff.post(f"{base}/retract", {"confirmed": "1"})
    assert "retracted already" in again.get_data(as_text=True)
    with app.app_context():
        rows = db.session.execute(db.select(Adjustment).order_by(Adjustment.id)).scalars().all()
        assert [(a.kind, a.value, a.currency) for a in rows] == [
            ("restate", Decimal("80.25"), "EUR"),
            ("retract", None, None),
        ]
        conversion = db.session.get(Conversion, conversion_id)
        assert conversion.value == Decimal("100")
        actions = db.session.execute(
            db.select(AuditEvent.action, AuditEvent.old, AuditEvent.new, AuditEvent.actor_id).where(
                AuditEvent.object_type == "lead"
            )
        ).all()
        assert [a[0] for a in actions] == ["conversion.restate", "conversion.retract"]
        assert actions[0][1]["value"] == "100.000" and actions[0][2]["value"] == "80.25"
        assert all(actor is not None for *_, actor in actions)


def test_restate_value_is_checked(staff, seed):
    _, conversion_id = seed.lead_with_conversion()
    staff.as_role("sales")
    page = staff.post(
        f"/staff/leads/conversions/{conversion_id}/restate", {"value": "1,5", "currency": "USD"}
    )
    assert page.status_code == 422
    assert "period" in page.get_data(as_text=True)


def test_names_are_escaped_on_every_page(app, staff, seed):
    goal_id = seed.goal(name=f"Goal {XSS}")
    lead_id = seed.lead(name=f"Eve {XSS}", company=XSS, message=XSS, email="eve@example.com",
                        click_ids=[("gclid", "google", XSS)])  # fmt: skip
    staff.as_role("admin")
    moment = local(datetime.now(UTC) - timedelta(minutes=5))
    convert = staff.post(
        f"/staff/leads/{lead_id}/conversions",
        {"goal_id": goal_id, "converted_at": moment, "confirmed": "1"},
    )
    assert convert.status_code == 302
    for url in ("/staff/leads/", f"/staff/leads/{lead_id}", "/staff/goals/",
                f"/staff/goals/{goal_id}", "/staff/audit/", "/staff/leads/?q=eve"):  # fmt: skip
        html = staff.client.get(url).get_data(as_text=True)
        assert XSS not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html or "\\u003cscript" in html, url


def test_viewer_sees_no_forms_that_change_anything(staff, seed):
    lead_id, _ = seed.lead_with_conversion()
    staff.as_role("viewer")
    html = staff.client.get(f"/staff/leads/{lead_id}").get_data(as_text=True)
    assert "Mark converted" not in html and "Retract" not in html


MS = "f894f652ea334e739002f7167ab8f8e3"
GCLID = "Cj0KCQjw-AbCdEfGhIjKlMnOp_123"


@pytest.fixture
def searchable(seed):
    now = datetime.now(UTC)
    ids = {
        "ada": seed.lead(name="Ada Lovelace", email="Ada@Example.com", phone_e164="+14255551234",
                         created_at=now - timedelta(days=10), click_ids=[("msclkid", "microsoft", MS)]),
        "bob": seed.lead(name="Bob Builder", email="bob@builder.example", created_at=now - timedelta(days=5),
                         click_ids=[("gclid", "google", GCLID)]),
        "spam": seed.lead(name="Spammy", email="spam@example.com", status="spam", created_at=now - timedelta(days=1)),
        "jose": seed.lead(name="José Álvarez-Núñez", company="Café Åkesson AB", email="jose@example.com",
                          created_at=now - timedelta(days=2)),
    }  # fmt: skip
    seed.conversion(ids["bob"], seed.goal())
    return ids


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({}, {"ada", "bob", "jose"}),
        ({"q": "ada@example.com"}, {"ada"}),
        ({"q": "ADA@"}, {"ada"}),
        ({"q": "(425) 555-1234"}, {"ada"}),
        ({"q": "+1 425 555 1234"}, {"ada"}),
        ({"q": MS}, {"ada"}),
        ({"q": GCLID}, {"bob"}),
        ({"q": "bob"}, {"bob"}),
        # Any word of a name or company, from its start, whatever the accents and case.
        ({"q": "lovelace"}, {"ada"}),
        ({"q": "LOVE"}, {"ada"}),
        ({"q": "ovelace"}, set()),
        ({"q": "jose"}, {"jose"}),
        ({"q": "nunez"}, {"jose"}),
        ({"q": "Álv José"}, {"jose"}),
        ({"q": "akesson"}, {"jose"}),
        ({"q": "jose bob"}, set()),
        # A click ID by its first 8 characters or more.
        ({"q": MS[:8]}, {"ada"}),
        ({"q": GCLID[:12]}, {"bob"}),
        ({"q": MS[:7]}, set()),
        ({"q": "---"}, set()),
        ({"q": "' OR 1=1 --"}, set()),
        ({"microsoft": "1"}, {"ada"}),
        ({"google": "1"}, {"bob"}),
        ({"converted": "yes"}, {"bob"}),
        ({"converted": "no"}, {"ada", "jose"}),
        ({"status": "spam"}, {"spam"}),
        ({"status": "all"}, {"ada", "bob", "spam", "jose"}),
        ({"since": "{d7}"}, {"bob", "jose"}),
        ({"until": "{d7}"}, {"ada"}),
    ],
)
def test_search_and_filters(staff, searchable, args, expected):
    staff.as_role("viewer")
    d7 = (datetime.now(UTC) - timedelta(days=7)).date().isoformat()
    args = {k: v.replace("{d7}", d7) for k, v in args.items()}
    html = staff.client.get("/staff/leads/", query_string=args).get_data(as_text=True)
    found = {
        name for name, lead_id in searchable.items() if f'href="/staff/leads/{lead_id}"' in html
    }
    assert found == expected


def test_a_posted_lead_is_found_by_words_of_its_name_and_company(staff, client):
    client.post("/leads", json={"name": "Grace Hopper", "company": "Navy Labs",
                                "email": "grace@example.com"})  # fmt: skip
    staff.as_role("viewer")
    for q in ("hopper", "NAVY", "gra"):
        html = staff.client.get("/staff/leads/", query_string={"q": q}).get_data(as_text=True)
        assert "Grace Hopper" in html, q


@pytest.mark.parametrize(
    ("q", "expected"),
    [("lovelace", {"ada"}), ("LOVE", {"ada"}), ("Álv José", {"jose"}), ("jose bob", set())],
)
def test_words_many_leads_share_find_the_same_leads(staff, searchable, monkeypatch, q, expected):
    """Words shared by many leads are looked up from the newest leads, not from the word
    index: the leads found are the same."""
    monkeypatch.setattr(search, "COMMON_WORD", 1)
    monkeypatch.setattr(search, "COMMON_WORDS", 1)
    staff.as_role("viewer")
    html = staff.client.get("/staff/leads/", query_string={"q": q}).get_data(as_text=True)
    found = {
        name for name, lead_id in searchable.items() if f'href="/staff/leads/{lead_id}"' in html
    }
    assert found == expected


def test_keyset_paging_walks_every_lead_once(staff, seed):
    now = datetime.now(UTC)
    same_time = now - timedelta(hours=1)
    ids = {
        seed.lead(created_at=same_time if i % 2 else now - timedelta(minutes=i)) for i in range(120)
    }
    staff.as_role("viewer")
    seen, url, pages = [], "/staff/leads/", 0
    import re

    while url:
        html = staff.client.get(url).get_data(as_text=True)
        seen += [int(x) for x in re.findall(r'href="/staff/leads/(\d+)"', html)]
        match = re.search(r'id="next-page" href="([^"]+)"|href="([^"]+)" id="next-page"', html)
        url = (match.group(1) or match.group(2)).replace("&amp;", "&") if match else None
        pages += 1
    assert pages == 3
    assert len(seen) == len(set(seen)) == 120
    assert set(seen) == ids


def test_staff_release_a_quarantined_lead_and_mark_spam(app, staff, seed):
    from leads.models import Lead

    lead_id = seed.lead(status="quarantined")
    staff.as_role("sales")
    assert staff.post(f"/staff/leads/{lead_id}/status", {"status": "new"}).status_code == 302
    assert staff.post(f"/staff/leads/{lead_id}/status", {"status": "bogus"}).status_code == 422
    asked = staff.post(f"/staff/leads/{lead_id}/status", {"status": "spam"})
    assert "Mark this lead as spam?" in asked.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Lead, lead_id).status == "new"  # nothing happens unconfirmed
    spam = {"status": "spam", "confirmed": "1"}
    assert staff.post(f"/staff/leads/{lead_id}/status", spam).status_code == 302
    with app.app_context():
        assert db.session.get(Lead, lead_id).status == "spam"
        changes = db.session.execute(
            db.select(AuditEvent.old, AuditEvent.new).where(AuditEvent.action == "lead.status")
        ).all()
        assert [(o["status"], n["status"]) for o, n in changes] == [
            ("quarantined", "new"),
            ("new", "spam"),
        ]
