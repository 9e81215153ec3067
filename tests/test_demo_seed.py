"""`flask demo seed` shows the product at work on first run: a funnel, waiting and excluded
conversions, and a file to download."""

import re

from database import db
from leads.models import Lead


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_demo_seed_fills_the_dashboard_and_the_exports_once(app, runner, staff):
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert re.match(r"Seeded \d+ clicks, \d+ leads and \d+ conversions over 21 days; "
                    r"the export wrote [1-9]\d* files\.", result.output)  # fmt: skip

    staff.as_role("sales")
    dashboard = _text(staff.client.get("/staff/").get_data(as_text=True))
    for platform in ("Microsoft", "Google"):
        section = dashboard.split(f"{platform} ", 1)[1]
        clicks, leads = map(int, re.search(r"([\d,]+) Clicks recorded ([\d,]+) Leads", section)
                            .groups())  # fmt: skip
        assert clicks > leads > 0
    assert re.search(r"[1-9]\d* exported to Microsoft", dashboard)
    assert re.search(r"[1-9]\d* waiting for a run", dashboard)
    assert "never sent" in dashboard and "currency the platform does not take" in dashboard

    exports = staff.client.get("/staff/exports/").get_data(as_text=True)
    run = staff.client.get(re.search(r'href="(/staff/exports/runs/\d+)"', exports).group(1))
    download = re.search(r'href="(/staff/exports/files/\d+)"', run.get_data(as_text=True)).group(1)
    file = staff.client.get(download)
    assert file.status_code == 200 and file.get_data(as_text=True).count("\n") >= 2

    with app.app_context():
        leads = db.session.scalar(db.select(db.func.count()).select_from(Lead))
    again = runner.invoke(args=["demo", "seed"])
    assert again.output == "The database already holds leads or goals: nothing seeded.\n"
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Lead)) == leads
