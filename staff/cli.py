"""`flask staff add` and `flask staff reset-link`: accounts from the command line."""

from datetime import UTC, datetime

import click
from flask import Blueprint, current_app

from database import db
from staff.audit import record
from staff.models import ROLES, StaffUser
from staff.schemas import PASSWORD
from staff.users import reset_link

bp = Blueprint("staff_cli", __name__, cli_group="staff")


def add_staff(email: str, role: str, password: str, timezone: str) -> StaffUser:
    """Create a staff account (no commit)."""
    user = StaffUser(email=email.strip().lower(), name="", role=role, timezone=timezone,
                     created_at=datetime.now(UTC))  # fmt: skip
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    record("staff.add", "staff_user", user.id, None, {"email": user.email, "role": role})
    return user


@bp.cli.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default="sales", show_default=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Prompted for when not given.")  # fmt: skip
def add_command(email: str, role: str, password: str) -> None:
    """Create a staff account, for example the first admin."""
    if len(password) < PASSWORD.min:
        raise click.BadParameter(PASSWORD.error, param_hint="--password")
    exists = db.session.execute(
        db.select(StaffUser.id).where(StaffUser.email == email.strip().lower())
    ).first()
    if exists:
        raise click.ClickException(f"{email} has an account already.")
    add_staff(email, role, password, current_app.config["DEFAULT_TIMEZONE"])
    db.session.commit()
    click.echo(f"Added {email} as {role}. Sign in at /staff/sign-in.")


@bp.cli.command("reset-link")
@click.argument("email")
def reset_link_command(email: str) -> None:
    """Print a single-use password-reset link (valid 24 hours)."""
    user = db.session.execute(
        db.select(StaffUser).where(StaffUser.email == email.strip().lower())
    ).scalar_one_or_none()
    if user is None:
        raise click.ClickException(f"No staff account for {email}.")
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_URL"]):
        click.echo(reset_link(user))
