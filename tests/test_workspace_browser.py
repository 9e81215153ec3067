"""A salesperson works a lead in real Chromium: sign in, search, convert, restate, retract."""

import re

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

GCLID = "Cj0KCQjw-AbCdEfGhIjKlMnOp_123"


def test_sales_converts_restates_and_retracts(page, staff, seed, live_server):
    seed.goal("Closed won")
    seed.lead(name="Ada Lovelace", email="ada@example.com", click_ids=[("gclid", "google", GCLID)])
    seed.lead(name="Bob Builder", email="bob@example.com")
    staff.create("sam@example.com", "sales", "Europe/Stockholm")

    page.goto(f"{live_server.url}/staff/leads/")
    page.fill("#email", "sam@example.com")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/staff/leads/")

    page.fill("#q", GCLID)
    page.click("form[role=search] button[type=submit]")
    page.wait_for_url("**/staff/leads/?q=*")
    rows = page.locator("table tr").all_inner_texts()
    assert any("Ada Lovelace" in row for row in rows)
    assert not any("Bob Builder" in row for row in rows)

    page.locator("tr", has_text="Ada Lovelace").locator("a").first.click()
    page.wait_for_selector("h1:has-text('Ada Lovelace')")
    page.fill("#value", "1234.5")
    page.select_option("#currency", "SEK")
    page.click("form[action$='/conversions'] button")
    # Ada has a Google click ID only: the export would leave Microsoft out, and says so.
    page.wait_for_selector("text=Microsoft will not take it: no valid Microsoft click ID.")
    assert "Google" not in page.inner_text("ul")
    page.click("button:has-text('Record it anyway')")
    page.wait_for_selector("text=Marked converted to Closed won.")
    assert "1,234.50 SEK" in page.inner_text("table")  # the currency's usual decimals

    page.fill("input[name=value][placeholder='New total value']", "999.99")
    page.click("button:has-text('Restate')")
    page.click("button:has-text('Record it anyway')")  # not exported yet: the same warning
    page.wait_for_selector("text=The conversion was restated.")
    assert "999.99 SEK" in page.inner_text("table")

    page.click("button:has-text('Retract')")
    page.wait_for_selector("text=Retract this conversion?")  # a confirmation without JavaScript
    page.click("button:has-text('Retract')")
    page.wait_for_selector("text=The conversion was retracted.")
    assert re.search(r"retracted", page.inner_text("table"))
    history = page.inner_text("table >> nth=-1")
    # PostgreSQL's ids skip the conversion rolled back while staff confirmed.
    for sentence in (r"marked lead #\d+ converted to Closed won", r"restated conversion #\d+ of lead",
                     r"retracted conversion #\d+ of lead"):  # fmt: skip
        assert re.search(sentence, history), sentence
