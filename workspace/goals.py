"""Admins define conversion goals: per-platform names, defaults and window."""

from datetime import UTC, datetime
from types import SimpleNamespace

from flask import Blueprint, flash, redirect, render_template, request, url_for

from database import db
from export.platforms import goal_platforms
from leads.conversion_rules import (
    RuleError,
    check_platform_name,
    check_window,
    currencies,
    parse_currency,
    parse_value,
)
from leads.models import Goal
from staff.access import login_required, roles_required
from staff.audit import record

bp = Blueprint("goals", __name__, url_prefix="/staff/goals", template_folder="templates")

EDITABLE = ("name", "microsoft_goal_name", "google_action_name", "microsoft_hashed",
            "google_enhanced", "default_value", "default_currency", "window_days")  # fmt: skip


def goal_fields(form) -> tuple[dict, dict]:
    """Read and check the goal form; return (values, errors)."""
    values, errors = {}, {}
    for field in ("name", "microsoft_goal_name", "google_action_name"):
        text = (form.get(field) or "").strip()
        if len(text) > 100:
            errors[field] = ["At most 100 characters."]
        elif any(ord(char) < 32 or ord(char) == 127 for char in text):
            # A NUL cannot even be looked up on PostgreSQL; no name needs a control character.
            errors[field] = ["Remove the control characters (line breaks, tabs, NUL)."]
        elif field != "name":
            try:
                check_platform_name(text)
            except RuleError as error:
                errors[field] = [str(error)]
        values[field] = text or None
    if not values["name"]:
        errors["name"] = ["Give the goal a name."]
    if not values["microsoft_goal_name"] and not values["google_action_name"]:
        message = "Enter the Microsoft goal name or the Google conversion action name, or both."
        errors["microsoft_goal_name"] = [message]
    values["microsoft_hashed"] = form.get("microsoft_hashed") == "1"
    values["google_enhanced"] = form.get("google_enhanced") == "1"
    checks = (
        ("default_value", parse_value),
        ("default_currency", parse_currency),
        ("window_days", lambda text: check_window(int(text) if text.isdigit() else 0)),
    )
    for field, parse in checks:
        text = (form.get(field) or "").strip()
        try:
            values[field] = parse(text) if text else None
        except RuleError as error:
            errors[field] = [str(error)]
    if values.get("window_days") is None and "window_days" not in errors:
        values["window_days"] = 90
    if values.get("default_value") is not None and not values.get("default_currency"):
        errors.setdefault("default_currency", ["Choose the currency of the default value."])
    currency = values.get("default_currency")
    refusing = [p.title for p in goal_platforms(SimpleNamespace(**values))
                if currency and p.currency_code(currency) is None]  # fmt: skip
    if refusing:
        errors.setdefault("default_currency", [
            f"{' and '.join(refusing)} does not take {currency}: every conversion in it "
            "would be left out of that platform's file. Choose another currency."
        ])  # fmt: skip
    return values, errors


def _name_taken(name: str, goal_id: int | None) -> bool:
    query = db.select(Goal.id).where(Goal.name == name)
    if goal_id:
        query = query.where(Goal.id != goal_id)
    return db.session.execute(query).first() is not None


def _form_page(goal: Goal | None, form, errors: dict, status: int = 200):
    return render_template(
        "workspace/goal_form.html", goal=goal, form=form, errors=errors, currencies=currencies()
    ), status


@bp.get("/")
@login_required
def index():
    """List the goals."""
    goals = db.session.execute(db.select(Goal).order_by(Goal.name)).scalars().all()
    return render_template("workspace/goals.html", goals=goals)


@bp.route("/new", methods=["GET", "POST"])
@roles_required("admin")
def create():
    """Define a new goal."""
    if request.method == "GET":
        return _form_page(None, {"window_days": "90"}, {})
    values, errors = goal_fields(request.form)
    if not errors and _name_taken(values["name"], None):
        errors["name"] = ["A goal with this name exists already."]
    if errors:
        return _form_page(None, request.form, errors, 422)
    goal = Goal(created_at=datetime.now(UTC), **values)
    db.session.add(goal)
    db.session.flush()
    record("goal.create", "goal", goal.id, None, _snapshot(goal))
    db.session.commit()
    flash(f"Goal {goal.name} created.")
    return redirect(url_for("goals.index"))


@bp.route("/<int:goal_id>", methods=["GET", "POST"])
@roles_required("admin")
def edit(goal_id: int):
    """Change a goal; the change applies to files written from now on."""
    goal = db.get_or_404(Goal, goal_id)
    if request.method == "GET":
        return _form_page(goal, _snapshot(goal), {})
    values, errors = goal_fields(request.form)
    if not errors and _name_taken(values["name"], goal.id):
        errors["name"] = ["A goal with this name exists already."]
    if errors:
        return _form_page(goal, request.form, errors, 422)
    old = _snapshot(goal)
    for field, value in values.items():
        setattr(goal, field, value)
    record("goal.update", "goal", goal.id, old, _snapshot(goal))
    db.session.commit()
    flash(f"Goal {goal.name} saved.")
    return redirect(url_for("goals.index"))


def _snapshot(goal: Goal) -> dict:
    return {
        field: (str(getattr(goal, field)) if field == "default_value" and goal.default_value
                is not None else getattr(goal, field))
        for field in EDITABLE
    }  # fmt: skip
