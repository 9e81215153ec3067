"""Staff pages for leads: the list, a lead, and marking conversions."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy.orm import selectinload

from database import db
from export.fates import (
    release_exclusions,
    standings,
)
from leads.conversion_rules import currencies, money
from leads.models import ERASED, STATUSES, Goal, Lead, LeadClickId
from staff.access import editors_only, login_required
from staff.audit import events_for, record
from staff.confirm import confirmation_page, confirmed
from workspace.search import PAGE_SIZE, BadFilter, LeadFilters, leads_query, next_cursor

bp = Blueprint("workspace", __name__, url_prefix="/staff/leads", template_folder="templates")
bp.add_app_template_filter(money)


def _goals() -> list[Goal]:
    return list(db.session.execute(db.select(Goal).order_by(Goal.name)).scalars())


def _now() -> datetime:
    return datetime.now(UTC)


def _local_now() -> str:
    """Return now in the staff member's zone, to the second: the export's precision, so the
    default time is never before a lead that arrived this minute."""
    return _now().astimezone(ZoneInfo(g.staff.timezone)).strftime("%Y-%m-%dT%H:%M:%S")


def lead_label(lead: Lead) -> str:
    return lead.name or lead.email or lead.phone or f"#{lead.id}"


@bp.get("/")
@login_required
def leads():
    """List leads, newest first, with search, filters and keyset paging."""
    try:
        filters = LeadFilters.from_args(request.args)
    except BadFilter as error:
        abort(400, str(error))
    query = leads_query(filters, g.staff.timezone, current_app.config["DEFAULT_COUNTRY"])
    rows = db.session.execute(
        query.options(selectinload(Lead.click_ids), selectinload(Lead.conversions))
    ).scalars().all()  # fmt: skip
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    args = {k: v for k, v in request.args.items() if k != "before"}
    next_url = url_for("workspace.leads", **args, before=next_cursor(rows[-1])) if more else None
    return render_template(
        "workspace/list.html", leads=rows, filters=filters, next_url=next_url, goals=_goals(),
        currencies=currencies(), now=_local_now(), errors={},
    )  # fmt: skip


@bp.get("/<int:lead_id>")
@login_required
def detail(lead_id: int):
    """Show a lead with its attribution, consent, click time and conversions."""
    return detail_page(db.get_or_404(Lead, lead_id))


def detail_page(lead: Lead, errors: dict | None = None, form: dict | None = None, status=200):
    click_ids = db.session.execute(
        db.select(LeadClickId).where(LeadClickId.lead_id == lead.id)
        .options(selectinload(LeadClickId.click))
    ).scalars().all()  # fmt: skip
    return render_template(
        "workspace/detail.html", lead=lead, click_ids=click_ids, goals=_goals(),
        currencies=currencies(), now=_local_now(), errors=errors or {}, form=form or {},
        events=events_for("lead", lead.id), standings=standings(lead.conversions, _now()),
    ), status  # fmt: skip


@bp.post("/<int:lead_id>/status")
@editors_only
def change_status(lead_id: int):
    """Release a quarantined lead, or mark a lead as spam (spam is never exported)."""
    lead = db.get_or_404(Lead, lead_id)
    status = request.form.get("status", "")
    if lead.status == ERASED:
        return detail_page(lead, {"status": ["An erased lead stays erased."]}, {}, 409)
    if status not in STATUSES:
        return detail_page(lead, {"status": ["Choose new, quarantined or spam."]}, {}, 422)
    if status == "spam" and not confirmed():
        return confirmation_page(
            "Mark this lead as spam?", [f"{lead_label(lead)}: its conversions are never exported "
                                        "while it is spam."],
            "Mark spam", url_for("workspace.detail", lead_id=lead.id),
        )  # fmt: skip
    record("lead.status", "lead", lead.id, {"status": lead.status}, {"status": status})
    if lead.status == "spam" and status != "spam":
        release_exclusions(lead)
    lead.status = status
    db.session.commit()
    flash(f"The lead is now {status}.")
    return redirect(url_for("workspace.detail", lead_id=lead.id))
