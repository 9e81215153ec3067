"""Admins define conversion goals: per-platform names, defaults and window."""

from datetime import UTC, datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for

from database import db
from leads.conversion_rules import currencies
from leads.models import Goal
from staff.access import login_required, roles_required
from staff.audit import record
from staff.fields import load_form
from workspace.forms import GoalSchema

bp = Blueprint("goals", __name__, url_prefix="/staff/goals", template_folder="templates")

EDITABLE = ("name", "microsoft_goal_name", "google_action_name", "microsoft_hashed",
            "google_enhanced", "default_value", "default_currency", "window_days")  # fmt: skip


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
    values, errors = load_form(GoalSchema(), request.form)
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
    values, errors = load_form(GoalSchema(), request.form)
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
