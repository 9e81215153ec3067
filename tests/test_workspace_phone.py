"""Every staff page in real Chromium on a 390-pixel phone and a 1280-pixel screen: the page
never scrolls sideways, its main action is on screen, and the console stays clean."""

from datetime import UTC, datetime, timedelta

import pytest

from export.run import run_export
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

MSCLKID = "f894f652ea334e739002f7167ab8f8e3"
# Each page, and a control a person comes to it for.
PAGES = {
    "/staff/": "button:has-text('Show')",
    "/staff/leads/": "button:has-text('Search')",
    "/staff/leads/1": "button:has-text('Mark converted')",
    "/staff/goals/": "a:has-text('New goal')",
    "/staff/goals/new": "button[type=submit]",
    "/staff/goals/1": "button[type=submit]",
    "/staff/exports/": "a:has-text('no usable click ID')",
    "/staff/exports/runs/1": "a:has-text('Download')",
    "/staff/exports/excluded?goal=1&platform=google&code=no_key": "a:has-text('Lead #')",
    "/staff/exports/feeds": "button:has-text('Create feed')",
    "/staff/users/": "button:has-text('Create invitation link')",
    "/staff/tokens/": "button:has-text('Create token')",
    "/staff/conversions/import/": "button:has-text('Preview')",
    "/staff/audit/": "td:has-text('The command line')",
    "/staff/account": "button[type=submit]",
    "/staff/privacy/": "button:has-text('Find')",
    "/staff/leads/999": "a:has-text('Back to the leads')",
}


@pytest.fixture
def workspace(app, seed, staff, live_server):
    """A workspace with a goal, a converted lead, a run, and an admin signed in."""
    now = datetime.now(UTC)
    goal = seed.goal("Closed won", created_at=now - timedelta(days=3))
    lead = seed.lead(name="Ada Lovelace", company="Analytical Engines Ltd",
                     created_at=now - timedelta(days=2),
                     click_ids=(("msclkid", "microsoft", MSCLKID),))  # fmt: skip
    seed.conversion(lead, goal, converted_at=now - timedelta(days=1))
    with app.app_context():
        run_export(app.config["EXPORT_DIR"], clock=lambda: now)
    staff.create("admin@example.com", "admin", "Europe/Stockholm")
    return live_server


@pytest.mark.parametrize("width", [390, 1280])
def test_every_staff_page_fits_the_screen_with_its_main_action(page, workspace, width):
    console, here = [], {}
    page.on("console", lambda message: console.append((here["path"], message.text))
            if message.type == "error" else None)  # fmt: skip
    page.set_viewport_size({"width": width, "height": 844})
    page.goto(f"{workspace.url}/staff/sign-in")
    page.fill("#email", "admin@example.com")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/staff/")
    for path, action in PAGES.items():
        here["path"] = path
        page.goto(f"{workspace.url}{path}")
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, f"{path} is {wide} px wide at {width}"
        control = page.locator(action).first
        assert control.is_visible(), f"{path}: {action} is not visible"
        box = control.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (path, action, box)
    # The one page that answers 404 on purpose logs that, and nothing else does.
    assert [path for path, _ in console] in ([], ["/staff/leads/999"]), console
