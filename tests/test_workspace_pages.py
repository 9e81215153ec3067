"""What staff read on the workspace pages: history as sentences, money as money."""

import re
from datetime import UTC, datetime, timedelta


def test_history_reads_as_sentences_with_before_and_after(app, staff, seed):
    goal = seed.goal("Closed won", default_currency="JPY", created_at=datetime.now(UTC))
    lead = seed.lead(name="Ada", created_at=datetime.now(UTC) - timedelta(days=1))
    staff.as_role("sales")
    moment = datetime.now(UTC) - timedelta(hours=1)
    staff.post(f"/staff/leads/{lead}/conversions", {"goal_id": goal, "value": "1500",
               "converted_at": f"{moment:%Y-%m-%dT%H:%M:%S}", "confirmed": "1"})  # fmt: skip
    staff.post("/staff/leads/conversions/1/restate",
               {"value": "1250.5", "currency": "EUR", "confirmed": "1"})  # fmt: skip
    staff.post("/staff/leads/conversions/1/retract", {"confirmed": "1"})
    page = staff.client.get(f"/staff/leads/{lead}").get_data(as_text=True)
    history = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page.split("<h2>History</h2>")[1]))
    assert (
        f"marked lead #{lead} converted to Closed won at {moment:%Y-%m-%d %H:%M}, 1,500 JPY"
        in history
    )
    assert f"restated conversion #1 of lead #{lead} from 1,500 JPY to 1,250.50 EUR" in history
    assert f"retracted conversion #1 of lead #{lead} (Closed won, 1,250.50 EUR)" in history
    assert "{" not in history  # no raw JSON
    assert f'href="/staff/leads/{lead}">lead #{lead}</a>' in page
    conversions = page.split("<h2>Conversions</h2>")[1].split("</table>")[0]
    assert "1,250.50 EUR</s> retracted" in conversions


def test_the_dashboard_shows_a_recent_count_again_until_asked_to_count_again(app, staff, seed):
    now = datetime.now(UTC)
    seed.lead(name="Ada", created_at=now - timedelta(days=1))
    staff.as_role("viewer")

    def leads_counted(url="/staff/"):
        html = staff.client.get(url).get_data(as_text=True)
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
        return int(re.search(r"(\d+) Leads ", text).group(1)), html

    assert leads_counted()[0] == 1
    seed.lead(name="Bob", created_at=now - timedelta(days=1))
    counted, html = leads_counted()
    assert counted == 1 and "Counted at " in html  # the minute-old count, said to be one
    again = re.search(r'href="([^"]*recount=1[^"]*)">Count again', html).group(1)
    assert leads_counted(again.replace("&amp;", "&"))[0] == 2
    assert leads_counted()[0] == 2


def test_the_dashboard_funnel_counts_the_periods_leads_and_links_to_them(app, staff, seed):
    from capture.models import Click
    from database import db
    from export.run import run_export

    now = datetime.now(UTC)
    goal = seed.goal("Closed won", created_at=now - timedelta(days=3))
    ms, gc = (
        ("msclkid", "microsoft", "f894f652ea334e739002f7167ab8f8e3"),
        ("gclid", "google", "Cj0KCQjw"),
    )
    ada = seed.lead(name="Ada", created_at=now - timedelta(days=2), click_ids=(ms, gc))
    bob = seed.lead(
        name="Bob", created_at=now - timedelta(days=2), click_ids=(ms[:2] + ("a" * 32,),)
    )
    cy = seed.lead(name="Cy", created_at=now - timedelta(days=2))
    seed.lead(
        name="Zed Spammer", created_at=now - timedelta(days=2), status="spam", click_ids=(gc,)
    )
    seed.lead(name="Olga Earlier", created_at=now - timedelta(days=40), click_ids=(ms,))
    for lead in (ada, bob, cy):
        seed.conversion(lead, goal, converted_at=now - timedelta(days=1))
    with app.app_context():
        db.session.add_all(
            [
                Click(
                    platform=p, param=p[:6], click_id=f"{p}{n}", first_seen=now - timedelta(days=2)
                )
                for p, n in (("microsoft", 1), ("microsoft", 2), ("microsoft", 3), ("google", 1))
            ]
        )
        db.session.commit()
        run_export(app.config["EXPORT_DIR"], clock=lambda: now)
    staff.as_role("viewer")
    page = staff.client.get("/staff/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    sections = html.split('<section class="card funnel">')[1:]
    microsoft, google = (re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", s)) for s in sections)
    assert "3 Clicks recorded 3 Leads 2 Leads Microsoft can use" in microsoft
    assert (
        "3 converted 2 exported to Microsoft 0 waiting for a run; never sent: 1 no usable"
        in microsoft
    )
    assert "1 Clicks recorded 3 Leads 1 Leads Google can use" in google
    assert "3 converted 1 exported to Google 0 waiting for a run; never sent: 2 no usable" in google
    usable = (
        re.search(r'href="(/staff/leads/\?key=microsoft[^"]*)"', html)
        .group(1)
        .replace("&amp;", "&")
    )
    listed = staff.client.get(usable).get_data(as_text=True)
    assert (
        "Ada" in listed and "Bob" in listed and "Cy" not in listed and "Olga Earlier" not in listed
    )
    converted = (
        re.search(rf'href="(/staff/leads/\?goal={goal}[^"]*)"', html).group(1).replace("&amp;", "&")
    )
    listed = staff.client.get(converted).get_data(as_text=True)
    assert all(name in listed for name in ("Ada", "Bob", "Cy")) and "Zed Spammer" not in listed
