"""Staff pages for leads: the list, a lead, and marking conversions."""

from datetime import UTC, datetime
from functools import partial
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
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from database import db, row_id
from export.fates import (
    adjustment_warnings,
    conversion_warnings,
    lead_standings,
    release_exclusions,
)
from leads.conversion_rules import currencies, money
from leads.conversions import conversion_problem, mark_converted, restate, retract
from leads.models import STATUSES, Conversion, Goal, Lead, LeadClickId
from staff.access import editors_only, login_required
from staff.audit import events_for, record
from staff.fields import load_form
from workspace.forms import ConversionSchema, RestateSchema
from workspace.search import PAGE_SIZE, BadFilter, LeadFilters, leads_query, next_cursor

bp = Blueprint("workspace", __name__, url_prefix="/staff/leads", template_folder="templates")
bp.add_app_template_filter(money)

MAX_BULK = 200


def _goals() -> list[Goal]:
    return list(db.session.execute(db.select(Goal).order_by(Goal.name)).scalars())


def _now() -> datetime:
    return datetime.now(UTC)


def _local_now() -> str:
    """Return now in the staff member's zone, to the second: the export's precision, so the
    default time is never before a lead that arrived this minute."""
    return _now().astimezone(ZoneInfo(g.staff.timezone)).strftime("%Y-%m-%dT%H:%M:%S")


def _conversion_values(goal: Goal) -> dict:
    """Read the conversion form; a blank value and currency take the goal's."""
    values, errors = load_form(ConversionSchema(timezone=g.staff.timezone), request.form)
    if errors:
        raise ValidationError(errors)
    if values["value"] is None:
        values["value"] = goal.default_value
    values["currency"] = values["currency"] or goal.default_currency
    if values["value"] is not None and not values["currency"]:
        raise ValidationError({"currency": ["Choose the currency of the value."]})
    return values


def _label(lead: Lead) -> str:
    return lead.name or lead.email or lead.phone or f"#{lead.id}"


def _confirmed() -> bool:
    return request.form.get("confirmed") == "1"


def _confirm_page(warnings: list[str], back: str):
    """Ask to go ahead despite what the export will do; re-posts the same form on yes."""
    fields = [(name, value) for name, values in request.form.lists() for value in values
              if name not in ("csrf_token", "confirmed")]  # fmt: skip
    return render_template("workspace/confirm.html", warnings=warnings, fields=fields,
                           action=request.path, back=back), 200  # fmt: skip


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
    return _detail_page(db.get_or_404(Lead, lead_id))


def _detail_page(lead: Lead, errors: dict | None = None, form: dict | None = None, status=200):
    click_ids = db.session.execute(
        db.select(LeadClickId).where(LeadClickId.lead_id == lead.id)
        .options(selectinload(LeadClickId.click))
    ).scalars().all()  # fmt: skip
    return render_template(
        "workspace/detail.html", lead=lead, click_ids=click_ids, goals=_goals(),
        currencies=currencies(), now=_local_now(), errors=errors or {}, form=form or {},
        events=events_for("lead", lead.id), standings=lead_standings(lead, _now()),
    ), status  # fmt: skip


@bp.post("/<int:lead_id>/conversions")
@editors_only
def convert(lead_id: int):
    """Mark the lead converted to a goal."""
    lead = db.get_or_404(Lead, lead_id)
    goal = db.session.get(Goal, request.form.get("goal_id", type=row_id) or 0)
    if goal is None:
        return _detail_page(lead, {"goal_id": ["Choose a goal."]}, request.form, 422)
    try:
        values = _conversion_values(goal)
        conversion = mark_converted(lead, goal, values, _now(), g.staff.id)
        warnings = conversion_warnings(conversion, _now())
        if warnings and not _confirmed():
            db.session.rollback()
            return _confirm_page(warnings, url_for("workspace.detail", lead_id=lead.id))
        db.session.commit()
    except ValidationError as error:
        db.session.rollback()
        return _detail_page(lead, error.messages, request.form, 422)
    except IntegrityError:
        db.session.rollback()
        message = f"This lead is already converted to {goal.name} at that time."
        return _detail_page(lead, {"converted_at": [message]}, request.form, 422)
    flash(f"Marked converted to {goal.name}.")
    return redirect(url_for("workspace.detail", lead_id=lead.id))


@bp.post("/bulk-convert")
@editors_only
def bulk_convert():
    """Mark every selected lead converted at once; nothing is saved if one is refused."""
    lead_ids = request.form.getlist("lead_id", type=row_id)[:MAX_BULK]
    goal = db.session.get(Goal, request.form.get("goal_id", type=row_id) or 0)
    problems = []
    if not lead_ids:
        problems.append("Select at least one lead.")
    if goal is None:
        problems.append("Choose a goal.")
    if not problems:
        found = db.session.execute(db.select(Lead).where(Lead.id.in_(lead_ids))).scalars().all()
        try:
            values = _conversion_values(goal)
        except ValidationError as error:
            problems += [m for messages in error.messages.values() for m in messages]
            found = []
        now = _now()
        for lead in found:
            problem = conversion_problem(lead, goal, values, now)
            if problem:
                problems.append(f"{_label(lead)}: {problem}")
        if not problems:
            warnings = []
            for lead in found:
                conversion = mark_converted(lead, goal, values, now, g.staff.id)
                warnings += [f"{_label(lead)}: {w}" for w in conversion_warnings(conversion, now)]
            if warnings and not _confirmed():
                db.session.rollback()
                return _confirm_page(warnings, url_for("workspace.leads"))
    if problems:
        db.session.rollback()
        for problem in problems:
            flash(problem, "error")
        return redirect(url_for("workspace.leads"))
    db.session.commit()
    flash(f"Marked {len(lead_ids)} leads converted to {goal.name}.")
    return redirect(url_for("workspace.leads"))


@bp.get("/<int:lead_id>/conversions")
@bp.get("/<int:lead_id>/status")
@login_required
def lead_form_address(lead_id: int):
    """Send a reload of a refused lead form's address back to the lead's page."""
    return redirect(url_for("workspace.detail", lead_id=lead_id))


@bp.get("/conversions/<int:conversion_id>/restate")
@bp.get("/conversions/<int:conversion_id>/retract")
@login_required
def conversion_form_address(conversion_id: int):
    """Send a reload of a refused restate or retract form back to the lead's page."""
    conversion = db.get_or_404(Conversion, conversion_id)
    return redirect(url_for("workspace.detail", lead_id=conversion.lead_id))


@bp.get("/bulk-convert")
@login_required
def bulk_form_address():
    """Send a reload of the bulk form's address back to the leads list."""
    return redirect(url_for("workspace.leads"))


def _adjust(conversion_id: int, form_name: str, change, done: str):
    """Apply a restatement or retraction; show refusals next to that conversion's form."""
    conversion = db.get_or_404(Conversion, conversion_id)
    try:
        adjustment = change(conversion)
        db.session.flush()
        warnings = adjustment_warnings(adjustment, _now())
        if warnings and not _confirmed():
            db.session.rollback()
            return _confirm_page(warnings, url_for("workspace.detail", lead_id=conversion.lead_id))
        db.session.commit()
    except ValidationError as error:
        db.session.rollback()
        errors = {f"{form_name}-{conversion.id}-{k}": v for k, v in error.messages.items()}
        return _detail_page(conversion.lead, errors, request.form, 422)
    flash(done)
    return redirect(url_for("workspace.detail", lead_id=conversion.lead_id))


@bp.post("/conversions/<int:conversion_id>/restate")
@editors_only
def restate_conversion(conversion_id: int):
    """Record a new total value for a conversion."""

    def change(conversion: Conversion):
        values, errors = load_form(RestateSchema(), request.form)
        if errors:
            raise ValidationError(errors)
        return restate(conversion, values, _now(), g.staff.id)

    return _adjust(conversion_id, "restate", change, "The conversion was restated.")


@bp.post("/conversions/<int:conversion_id>/retract")
@editors_only
def retract_conversion(conversion_id: int):
    """Record that a conversion did not happen after all."""
    change = partial(retract, now=_now(), actor_id=g.staff.id)
    return _adjust(conversion_id, "retract", change, "The conversion was retracted.")


@bp.post("/<int:lead_id>/status")
@editors_only
def change_status(lead_id: int):
    """Release a quarantined lead, or mark a lead as spam (spam is never exported)."""
    lead = db.get_or_404(Lead, lead_id)
    status = request.form.get("status", "")
    if status not in STATUSES:
        return _detail_page(lead, {"status": ["Choose new, quarantined or spam."]}, {}, 422)
    record("lead.status", "lead", lead.id, {"status": lead.status}, {"status": status})
    if lead.status == "spam" and status != "spam":
        release_exclusions(lead)
    lead.status = status
    db.session.commit()
    flash(f"The lead is now {status}.")
    return redirect(url_for("workspace.detail", lead_id=lead.id))
