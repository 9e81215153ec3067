"""The workspace's home: how the period's clicks turned into leads, sales and uploads."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, g, render_template, request

from export.rules import EXCLUSIONS
from staff.access import login_required
from workspace.funnel import funnels
from workspace.search import EARLIEST, LATEST

bp = Blueprint("dashboard", __name__, url_prefix="/staff", template_folder="templates")
DEFAULT_DAYS = 30
RECOUNT_AFTER = timedelta(minutes=1)  # a period's funnel is counted again after this
KEPT_PERIODS = 32  # periods whose funnels each worker keeps


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
    counted_at, shown = _counted(start, end, fresh="recount" in request.args)
    return render_template("workspace/dashboard.html", funnels=shown, since=since, until=until,
                           counted_at=counted_at, exclusions=EXCLUSIONS)  # fmt: skip


def _counted(start: datetime, end: datetime, fresh: bool) -> tuple[datetime, list]:
    """Return when the period's funnel was counted, and the funnel: a count younger than
    RECOUNT_AFTER is shown again (counting tens of thousands of leads takes a second)."""
    kept = current_app.extensions.setdefault("closeloop.funnels", {})
    now = datetime.now(UTC)
    counted = kept.get((start, end))
    if fresh or not counted or now - counted[0] >= RECOUNT_AFTER:
        if len(kept) >= KEPT_PERIODS:
            kept.clear()
        counted = kept[start, end] = now, funnels(start, end, now)
    return counted
