"""Append to the audit trail, and show it to admins."""

from datetime import UTC, datetime
from decimal import Decimal

from flask import Blueprint, g, render_template, request

from database import db, row_id
from staff.access import roles_required
from staff.models import AuditEvent

bp = Blueprint("audit", __name__, url_prefix="/staff/audit", template_folder="templates")

PAGE_SIZE = 100


def record(action: str, object_type: str, object_id: int, old=None, new=None) -> AuditEvent:
    """Add an audit event for the signed-in staff member, the API token of the call, or the
    command line, to the session."""
    actor, token = getattr(g, "staff", None), getattr(g, "api_token", None)
    event = AuditEvent(
        at=datetime.now(UTC),
        actor_id=actor.id if actor else None,
        token_id=token.id if token else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        old=old,
        new=new,
    )
    db.session.add(event)
    return event


@bp.app_template_filter("decimal")
def as_decimal(text: str | None) -> Decimal | None:
    """Read back an amount the trail stored as text."""
    return None if text is None else Decimal(text)


@bp.app_template_filter("isotime")
def as_time(text: str) -> datetime:
    """Read back a time the trail stored in ISO 8601."""
    return datetime.fromisoformat(text)


def events_for(object_type: str, object_id: int) -> list[AuditEvent]:
    """Return the events about one object, newest first."""
    return list(
        db.session.execute(
            db.select(AuditEvent)
            .where(AuditEvent.object_type == object_type, AuditEvent.object_id == object_id)
            .order_by(AuditEvent.id.desc())
        ).scalars()
    )


@bp.get("/")
@roles_required("admin")
def index():
    """List the audit trail, newest first, a page at a time."""
    query = db.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(PAGE_SIZE + 1)
    before = request.args.get("before", type=row_id)
    if before:
        query = query.where(AuditEvent.id < before)
    events = db.session.execute(query).scalars().all()
    more = len(events) > PAGE_SIZE
    events = events[:PAGE_SIZE]
    return render_template(
        "staff/audit.html", events=events, before=events[-1].id if more else None
    )
