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
