"""Count every refused public post by day, endpoint and reason, for the operator."""

import logging
from datetime import UTC, date, datetime

import click
from flask import Blueprint, Response, current_app, request
from sqlalchemy import Date, Integer, String, func
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from database import db, upsert_insert
from extensions import public_marker

log = logging.getLogger(__name__)

REASONS = {
    400: "malformed_body",
    403: "origin_not_allowed",
    413: "too_large",
    415: "unsupported_type",
    422: "invalid_fields",
    429: "rate_limited",
}

bp = Blueprint("rejections", __name__, cli_group=None)


class Rejection(db.Model):
    __tablename__ = "rejections"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


def count_rejection(endpoint: str, reason: str) -> None:
    """Add one to today's count, in a transaction of its own; never fail the request."""
    today = datetime.now(UTC).date()
    try:
        with db.engine.begin() as connection:
            insert = upsert_insert(connection.dialect.name, Rejection)
            statement = insert.values(day=today, endpoint=endpoint, reason=reason, count=1)
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=["day", "endpoint", "reason"],
                    set_={"count": Rejection.count + 1},
                )
            )
    except SQLAlchemyError:
        log.warning("Could not count a rejected post (%s, %s)", endpoint, reason)


def count_refused_posts(response: Response) -> Response:
    """After a public post is refused, count it under its reason."""
    endpoint = request.endpoint or ""
    reason = REASONS.get(response.status_code)
    marker = public_marker(current_app.view_functions.get(endpoint))
    if request.method == "POST" and reason and marker and marker.counted:
        count_rejection(endpoint, reason)
    return response


@bp.cli.command("rejections")
@click.option("--days", default=7, show_default=True, help="How many days back to show.")
def rejections_command(days: int) -> None:
    """Show refused public posts per day, endpoint and reason."""
    since = datetime.now(UTC).date().toordinal() - days + 1
    rows = db.session.execute(
        db.select(Rejection)
        .where(Rejection.day >= date.fromordinal(since))
        .order_by(Rejection.day.desc(), Rejection.endpoint, Rejection.reason)
    ).scalars()
    lines = [f"{r.day}  {r.endpoint:<24} {r.reason:<20} {r.count:>8}" for r in rows]
    click.echo("\n".join(lines) if lines else f"No refused posts in the last {days} days.")
    total = db.session.scalar(db.select(func.coalesce(func.sum(Rejection.count), 0)))
    click.echo(f"All time: {total}")
