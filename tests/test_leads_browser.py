"""A visitor from an ad submits a lead form on another origin, in real Chromium."""

import pytest

from database import db
from leads.models import Lead

pytestmark = pytest.mark.browser

MSCLKID = "f894f652ea334e739002f7167ab8f8e3"
GCLID = "-Cj0KCQjw_AbC-123"


def test_lead_from_a_landing_page_keeps_the_exact_click_ids(page, app, site, live_server):
    script = f'<script src="{live_server.url}/capture.js" defer></script>'
    site.pages["/landing"] = f"<!doctype html><head>{script}</head><a href='/form'>Quote</a>"
    site.pages["/form"] = (
        f"<!doctype html><head>{script}</head><body>"
        f'<form method="post" action="{live_server.url}/leads">'
        f'<input type="hidden" name="_next" value="{site.url}/done">'
        '<input name="name"><input name="email"><button>Send</button></form></body>'
    )
    site.pages["/done"] = "<!doctype html><h1>Thanks</h1>"
    page.goto(f"{site.url}/landing?msclkid={MSCLKID}&gclid={GCLID}&utm_source=bing")
    page.click("a")
    page.fill("[name=name]", "Zoë <script>")
    page.fill("[name=email]", "zoe@example.com")
    page.wait_for_selector("input[name=submission_id]", state="attached")
    page.click("button")
    page.wait_for_url(f"{site.url}/done")
    with app.app_context():
        (lead,) = db.session.execute(db.select(Lead)).scalars().all()
        assert lead.name == "Zoë <script>"
        assert {c.param: c.value for c in lead.click_ids} == {"msclkid": MSCLKID, "gclid": GCLID}
        assert all(c.valid for c in lead.click_ids)
        assert lead.attribution == {"utm_source": "bing"}
        assert (
            lead.landing_url
            == f"{site.url}/landing?msclkid={MSCLKID}&gclid={GCLID}&utm_source=bing"
        )
        assert lead.origin == site.url
        assert lead.idempotency_key


def test_demo_flow_ends_on_the_thank_you_page(page, app, live_server):
    page.goto(f"{live_server.url}/demo/")
    page.click("#try-link")
    page.click("#form-link")
    page.fill("[name=email]", "demo@example.com")
    page.wait_for_function("document.querySelector('[name=msclkid]').value")
    page.click("button")
    page.wait_for_url("**/demo/thanks")
    with app.app_context():
        (lead,) = db.session.execute(db.select(Lead)).scalars().all()
        assert {c.param: c.value for c in lead.click_ids} == {
            "msclkid": "f894f652ea334e739002f7167ab8f8e3",
            "gclid": "Cj0KCQjw-demo_gclid",
        }
