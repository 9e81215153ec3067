"""Record a conversion the CRM knows by its own id: create it, or change nothing, or
restate its value; the same rules as a conversion staff enter by hand.

Shared by `PUT /api/v1/conversions/<external_id>` and the CSV import. Nothing here
commits: the caller commits a whole request or a whole file.
"""

from dataclasses import dataclass
from datetime import datetime

from marshmallow import ValidationError
from sqlalchemy import exists, select
from werkzeug.exceptions import Conflict

from api.matching import lead_for
from database import db, lock_row
from export.fates import standings
from export.models import ExportedConversion, ExportFile
from leads.conversions import mark_converted, restate, update_value, with_goal_defaults
from leads.models import Conversion, Goal


@dataclass
class Outcome:
    conversion: Conversion
    created: bool = False
    changed: bool = False
    standings: dict | None = None  # where a new conversion stands, as found when checking it


def goal_named(name: str) -> Goal:
    goal = db.session.scalar(select(Goal).where(Goal.name == name))
    if goal is None:
        message = f"No goal is named {name!r}: use a name listed under Goals."
        raise ValidationError({"goal": [message]})
    return goal


def by_external_id(external_id: str) -> Conversion | None:
    return db.session.scalar(select(Conversion).where(Conversion.external_id == external_id))


def same_conversion(lead_id: int, goal: Goal, values: dict) -> Conversion | None:
    """Return the conversion of the lead to the goal at that time: what a row without an
    external id is, so that importing a file again changes nothing."""
    return db.session.scalar(select(Conversion).where(
        Conversion.lead_id == lead_id, Conversion.goal_id == goal.id,
        Conversion.converted_at == values["converted_at"]
    ))  # fmt: skip


def put_conversion(external_id: str | None, data: dict, now: datetime, actor_id: int | None,
                   default_country: str) -> Outcome:  # fmt: skip
    """Create the conversion, or bring the one with this external id to `data`'s value.

    Raises ValidationError (422), NotFound (no such lead) or Conflict (the id names a
    conversion of another lead, goal or time, or a retracted one); IntegrityError when
    a call with the same id recorded it in the meantime (roll back and call again).
    """
    goal = goal_named(data["goal"])
    lead = lead_for(*data["lead"], data["converted_at"], default_country)
    values = with_goal_defaults({key: data[key] for key in ("converted_at", "value", "currency")},
                                goal)  # fmt: skip
    if external_id:
        existing = by_external_id(external_id)
    else:
        existing = same_conversion(lead.id, goal, values)
    if existing is None:
        try:
            conversion = mark_converted(lead, goal, values, now, actor_id, external_id=external_id)
        except ValidationError:
            # Refused as a duplicate because a call with the same id has just recorded it?
            existing = by_external_id(external_id) if external_id else None
            if existing is None:
                raise
        else:
            where = refuse_if_no_platform_takes(conversion, now)
            return Outcome(conversion, created=True, changed=True, standings=where)
    return _bring_to(existing, lead.id, goal, values, now, actor_id)


def _bring_to(conversion: Conversion, lead_id: int, goal: Goal, values: dict, now: datetime,
              actor_id: int | None) -> Outcome:  # fmt: skip
    """Leave an existing conversion as it is, or give it the new value and currency."""
    conversion = lock_row(Conversion, conversion.id)
    same = (conversion.lead_id, conversion.goal_id, conversion.converted_at) == (
        lead_id, goal.id, values["converted_at"])  # fmt: skip
    if conversion.retracted:
        raise Conflict("This conversion is retracted: record it again under a new external_id.")
    if not same:
        raise Conflict(
            "This external_id is a conversion of another lead, goal or time: retract it "
            "(DELETE) and record the new one under a new external_id."
        )
    wanted = (values["value"], values["currency"])
    if (conversion.current_value, conversion.current_currency) == wanted:
        return Outcome(conversion)
    if _exported(conversion) or conversion.adjustments:
        restate(conversion, {"value": wanted[0], "currency": wanted[1]}, now, actor_id)
    else:
        update_value(conversion, {"value": wanted[0], "currency": wanted[1]}, actor_id)
    return Outcome(conversion, changed=True)


def _exported(conversion: Conversion) -> bool:
    return bool(db.session.scalar(select(exists().where(
        ExportedConversion.conversion_id == conversion.id,
        ExportedConversion.file_id == ExportFile.id, ExportFile.status == "written",
    ))))  # fmt: skip


def refuse_if_no_platform_takes(conversion: Conversion, now: datetime) -> dict:
    """Refuse a conversion that every platform of its goal would leave out for a reason
    known now (when only some would, the answer's per-platform state says which); return
    where it stands."""
    where = standings([conversion], now)
    platforms = where[("conversion", conversion.id)]
    if all(standing.state == "excluded" for standing in platforms):
        reasons = "; ".join(f"{s.platform.title}: {s.detail}" for s in platforms)
        raise ValidationError({"platforms": [f"No platform would take it: {reasons}."]})
    return where
