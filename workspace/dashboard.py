"""The workspace's home: how the period's clicks turned into leads, sales and uploads."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, g, render_template, request

from export.rules import EXCLUSIONS
from staff.access import login_required
from workspace.funnel import funnels
from workspace.search import EARLIEST, LATEST

bp = Blueprint("dashboard", __name__, url_prefix="/staff", template_folder="templates")
DEFAULT_DAYS = 30


def _day(name: str, default: date) -> date:
    text = request.args.get(name, "")
    try:
        day = date.fromisoformat(text) if text else default
    except ValueError:
        abort(400, f"Enter the {name} date as YYYY-MM-DD.")
    if not EARLIEST <= day <= LATEST:
        abort(400, f"Choose dates between {EARLIEST} and {LATEST}.")
    return day


@bp.get("/")
@login_required
def index():
    """Show the funnel of the chosen period (the last 30 days unless chosen) as bars and
    numbers, each number linking to what it counts."""
    zone = ZoneInfo(g.staff.timezone)
    today = datetime.now(UTC).astimezone(zone).date()
    until = _day("until", today)
    since = _day("since", until - timedelta(days=DEFAULT_DAYS - 1))
    if since > until:
        abort(400, "The period starts after it ends.")
    start = datetime.combine(since, time(), zone)
    end = datetime.combine(until + timedelta(days=1), time(), zone)
    shown = funnels(start, end, datetime.now(UTC))
    return render_template("workspace/dashboard.html", funnels=shown, since=since, until=until,
                           exclusions=EXCLUSIONS)  # fmt: skip
