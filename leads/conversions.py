"""Mark leads converted, restate and retract: state changes with their audit (no commit).

Refusals are marshmallow ValidationErrors, keyed by the form field they concern.
"""

from datetime import datetime

from marshmallow import ValidationError

from database import db
from leads.conversion_rules import RuleError, check_conversion_time
from leads.models import Adjustment, Conversion, Goal, Lead
from staff.audit import record


def conversion_problem(lead: Lead, goal: Goal, values: dict, now: datetime) -> str | None:
    """Return why the lead cannot convert to the goal at that time, or None."""
    try:
        check_conversion_time(values["converted_at"], lead.created_at, now)
    except RuleError as error:
        return str(error)
    duplicate = db.session.execute(
        db.select(Conversion.id).where(Conversion.lead_id == lead.id, Conversion.goal_id == goal.id,
                                       Conversion.converted_at == values["converted_at"])
    ).first()  # fmt: skip
    if duplicate:
        return f"This lead is already converted to {goal.name} at that time."
    return None


def with_goal_defaults(values: dict, goal: Goal) -> dict:
    """Return the values with a blank value and currency taken from the goal's defaults;
    refuse a value without a currency."""
    values = dict(values)
    if values["value"] is None:
        values["value"] = goal.default_value
    values["currency"] = values["currency"] or goal.default_currency
    if values["value"] is not None and not values["currency"]:
        raise ValidationError({"currency": ["Choose the currency of the value."]})
    return values


def mark_converted(lead: Lead, goal: Goal, values: dict, now: datetime, actor_id: int | None,
                   external_id: str | None = None) -> Conversion:  # fmt: skip
    """Add a conversion of the lead to the goal, refusing impossible times and duplicates."""
    problem = conversion_problem(lead, goal, values, now)
    if problem:
        raise ValidationError({"converted_at": [problem]})
    conversion = Conversion(lead=lead, goal=goal, created_at=now, created_by=actor_id,
                            external_id=external_id, **values)  # fmt: skip
    db.session.add(conversion)
    db.session.flush()
    record("conversion.create", "lead", lead.id, None, _snapshot(conversion))
    return conversion


def restate(
    conversion: Conversion, values: dict, now: datetime, actor_id: int | None
) -> Adjustment:
    """Record a new total value (and currency) for a conversion."""
    if conversion.retracted:
        raise ValidationError({"value": ["A retracted conversion cannot be restated."]})
    old = {"value": _text(conversion.current_value), "currency": conversion.current_currency}
    adjustment = Adjustment(conversion=conversion, kind="restate", adjusted_at=now,
                            created_by=actor_id, value=values["value"],
                            currency=values["currency"])  # fmt: skip
    db.session.add(adjustment)
    record("conversion.restate", "lead", conversion.lead_id, old,
           {"conversion": conversion.id, "value": _text(values["value"]),
            "currency": values["currency"]})  # fmt: skip
    return adjustment


def update_value(conversion: Conversion, values: dict, actor_id: int | None) -> None:
    """Change the value of a conversion no file has carried yet (after export: restate)."""
    old = {"conversion": conversion.id, "value": _text(conversion.value),
           "currency": conversion.currency}  # fmt: skip
    conversion.value, conversion.currency = values["value"], values["currency"]
    record("conversion.update", "lead", conversion.lead_id, old,
           {"conversion": conversion.id, "value": _text(values["value"]),
            "currency": values["currency"]})  # fmt: skip


def retract(conversion: Conversion, now: datetime, actor_id: int | None) -> Adjustment:
    """Record that a conversion did not happen after all."""
    if conversion.retracted:
        raise ValidationError({"retract": ["This conversion is retracted already."]})
    adjustment = Adjustment(conversion=conversion, kind="retract", adjusted_at=now,
                            created_by=actor_id)  # fmt: skip
    db.session.add(adjustment)
    record("conversion.retract", "lead", conversion.lead_id, _snapshot(conversion),
           {"conversion": conversion.id, "retracted": True})  # fmt: skip
    return adjustment


def _text(value) -> str | None:
    return None if value is None else str(value)


def _snapshot(conversion: Conversion) -> dict:
    return {
        "conversion": conversion.id,
        "goal": conversion.goal.name,
        "converted_at": conversion.converted_at.isoformat(),
        "value": _text(conversion.current_value),
        "currency": conversion.current_currency,
    }
