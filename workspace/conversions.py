"""Staff pages that record conversions: mark converted (one lead or many), restate, retract.

They share the leads pages' blueprint and addresses; the export's one rule says what
each platform will make of a conversion before it is saved.
"""

from functools import partial

from flask import flash, g, redirect, request, url_for
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError

from database import db, row_id
from export.fates import adjustment_warnings, conversion_warnings
from leads.conversion_rules import money
from leads.conversions import (
    conversion_problem,
    mark_converted,
    restate,
    retract,
    with_goal_defaults,
)
from leads.models import Conversion, Goal, Lead
from staff.access import editors_only, login_required
from staff.auth import local_time
from staff.confirm import confirmation_page, confirmed
from staff.fields import load_form
from workspace.forms import ConversionSchema, RestateSchema
from workspace.leads import _now, bp, detail_page, lead_label

MAX_BULK = 200


def _conversion_values(goal: Goal) -> dict:
    """Read the conversion form; a blank value and currency take the goal's."""
    values, errors = load_form(ConversionSchema(timezone=g.staff.timezone), request.form)
    if errors:
        raise ValidationError(errors)
    return with_goal_defaults(values, goal)


def _confirm_warnings(warnings: list[str], back: str):
    """Ask whether to record what the export will not send everywhere."""
    return confirmation_page(
        "Record it anyway?", warnings, "Record it anyway", back, danger=False,
        intro="The export will not send this everywhere the goal is set up for:",
    )  # fmt: skip


@bp.post("/<int:lead_id>/conversions")
@editors_only
def convert(lead_id: int):
    """Mark the lead converted to a goal."""
    lead = db.get_or_404(Lead, lead_id)
    goal = db.session.get(Goal, request.form.get("goal_id", type=row_id) or 0)
    if goal is None:
        return detail_page(lead, {"goal_id": ["Choose a goal."]}, request.form, 422)
    try:
        values = _conversion_values(goal)
        conversion = mark_converted(lead, goal, values, _now(), g.staff.id)
        warnings = conversion_warnings(conversion, _now())
        if warnings and not confirmed():
            db.session.rollback()
            return _confirm_warnings(warnings, url_for("workspace.detail", lead_id=lead.id))
        db.session.commit()
    except ValidationError as error:
        db.session.rollback()
        return detail_page(lead, error.messages, request.form, 422)
    except IntegrityError:
        db.session.rollback()
        message = f"This lead is already converted to {goal.name} at that time."
        return detail_page(lead, {"converted_at": [message]}, request.form, 422)
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
                problems.append(f"{lead_label(lead)}: {problem}")
        if not problems:
            warnings = []
            for lead in found:
                conversion = mark_converted(lead, goal, values, now, g.staff.id)
                label = lead_label(lead)
                warnings += [f"{label}: {w}" for w in conversion_warnings(conversion, now)]
            if warnings and not confirmed():
                db.session.rollback()
                return _confirm_warnings(warnings, url_for("workspace.leads"))
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


def _adjust(conversion_id: int, form_name: str, change, done: str, question: str = ""):
    """Apply a restatement or retraction; show refusals next to that conversion's form.

    With a `question`, staff confirm first (and see what the export will make of it).
    """
    conversion = db.get_or_404(Conversion, conversion_id)
    back = url_for("workspace.detail", lead_id=conversion.lead_id)
    try:
        adjustment = change(conversion)
        db.session.flush()
        warnings = adjustment_warnings(adjustment, _now())
        if (warnings or question) and not confirmed():
            db.session.rollback()
            if question:
                return confirmation_page(question, warnings or [_describe(conversion)],
                                         "Retract", back)  # fmt: skip
            return _confirm_warnings(warnings, back)
        db.session.commit()
    except ValidationError as error:
        db.session.rollback()
        errors = {f"{form_name}-{conversion.id}-{k}": v for k, v in error.messages.items()}
        return detail_page(conversion.lead, errors, request.form, 422)
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
    return _adjust(conversion_id, "retract", change, "The conversion was retracted.",
                   question="Retract this conversion?")  # fmt: skip


def _describe(conversion: Conversion) -> str:
    value = money(conversion.current_value, conversion.current_currency)
    when = local_time(conversion.converted_at)
    return (f"{conversion.goal.name}, {value}, converted {when}: the platforms that took it "
            "are told it did not happen; it cannot be undone.")  # fmt: skip
