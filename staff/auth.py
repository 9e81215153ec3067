"""Sign-in and sign-out, one's own account, and the invitation and reset links."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter.util import get_remote_address

from database import db
from extensions import limiter
from staff.access import login_required
from staff.access import sign_in as start_session
from staff.access import sign_out as end_session
from staff.audit import record
from staff.fields import load_form
from staff.models import Invitation, StaffUser
from staff.schemas import AccountSchema, NewPasswordSchema, SignInSchema, zone_choices
from staff.tokens import INVITATION_MAX_AGE, RESET_MAX_AGE, read_token

bp = Blueprint("staff", __name__, url_prefix="/staff", template_folder="templates")

# A hash to check against when the email is unknown, so both cases take as long.
UNKNOWN_USER_HASH = "scrypt:32768:8:1$0000000000000000$" + "0" * 128


def _sign_in_email() -> str:
    return request.form.get("email", "").strip().lower()


def _sign_in_email_here() -> str:
    return f"{_sign_in_email()} from {get_remote_address()}"


def _failed(response) -> bool:
    return response.status_code != 302


# Guessing an account's password is slowed per address and account; a guesser elsewhere
# can hold the account itself for ten minutes at most, and only by failing 50 times.
@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit("10 per minute; 50 per hour", methods=["POST"])
@limiter.limit(
    "5 per minute; 20 per hour", methods=["POST"], key_func=_sign_in_email_here, deduct_when=_failed
)
@limiter.limit("50 per 10 minutes", methods=["POST"], key_func=_sign_in_email, deduct_when=_failed)
def sign_in():
    """Show the sign-in form, and sign staff in."""
    errors = {}
    if request.method == "POST":
        data, errors = load_form(SignInSchema(), request.form)
        if not errors:
            user = db.session.execute(
                db.select(StaffUser).where(StaffUser.email == data["email"].lower())
            ).scalar_one_or_none()
            matches = (user or StaffUser(password_hash=UNKNOWN_USER_HASH)).check_password(
                data["password"]
            )
            if user and user.active and matches:
                start_session(user)
                db.session.commit()
                return redirect(_safe_next(request.args.get("next")))
            errors = {"password": ["Wrong email or password."]}
    return render_template("staff/sign_in.html", errors=errors), 422 if errors else 200


def _safe_next(target: str | None) -> str:
    """Return a path inside the workspace, never another site."""
    # A control character (a crafted %0d%0a) cannot go in a Location header: it would be a 500.
    plain = target and not any(ord(char) < 32 or ord(char) == 127 for char in target)
    if plain and target.startswith("/staff/") and not target.startswith("//"):
        return target
    return url_for("dashboard.index")


@bp.post("/sign-out")
def sign_out():
    """End the session, here and on the server."""
    end_session()
    db.session.commit()
    return redirect(url_for("staff.sign_in"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """Change one's own name, time zone and password."""
    errors = {}
    if request.method == "POST":
        data, errors = load_form(AccountSchema(), request.form)
        if not errors:
            old = {"name": g.staff.name, "timezone": g.staff.timezone}
            g.staff.name, g.staff.timezone = data["name"], data["timezone"]
            g.staff.set_password(data["password"])
            new = {"name": data["name"], "timezone": data["timezone"], "password": "changed"}
            record("account.update", "staff_user", g.staff.id, old, new)
            start_session(g.staff)
            db.session.commit()
            flash("Your account was saved.")
            return redirect(url_for("staff.account"))
    return render_template(
        "staff/account.html", errors=errors, timezones=zone_choices(g.staff.timezone)
    ), 422 if errors else 200


# One-time links carry their token in the query string, which the access log leaves out
# (gunicorn.conf.py); the forms post back to the same address.
@bp.route("/invitation", methods=["GET", "POST"])
def accept_invitation():
    """Let an invited colleague choose a password; the link works once and expires."""
    payload = read_token("invitation", request.args.get("token", ""), INVITATION_MAX_AGE) or {}
    invitation = db.session.get(Invitation, payload.get("invitation", 0))
    if invitation is None or invitation.used_at is not None:
        return render_template("staff/link_invalid.html"), 410
    errors = {}
    if request.method == "POST":
        data, errors = load_form(AccountSchema(), request.form)
        taken = db.session.execute(
            db.select(StaffUser.id).where(StaffUser.email == invitation.email)
        ).first()
        if not errors and taken:
            errors = {"email": ["An account with this email exists already."]}
        if not errors:
            user = StaffUser(email=invitation.email, name=data["name"], role=invitation.role,
                             timezone=data["timezone"], created_at=_now())  # fmt: skip
            user.set_password(data["password"])
            invitation.used_at = _now()
            db.session.add(user)
            db.session.flush()
            g.staff = user
            record("staff.join", "staff_user", user.id, None,
                   {"email": user.email, "role": user.role})  # fmt: skip
            start_session(user)
            db.session.commit()
            return redirect(url_for("dashboard.index"))
    default_tz = current_app.config["DEFAULT_TIMEZONE"]
    return render_template(
        "staff/accept.html", invitation=invitation, errors=errors,
        timezones=zone_choices(default_tz), default_tz=default_tz,
    ), 422 if errors else 200  # fmt: skip


@bp.route("/reset", methods=["GET", "POST"])
def reset_password():
    """Let a staff member set a new password; the link works once and expires."""
    payload = read_token("reset", request.args.get("token", ""), RESET_MAX_AGE) or {}
    user = db.session.get(StaffUser, payload.get("user", 0))
    if user is None or not user.active or payload.get("nonce") != user.session_nonce:
        return render_template("staff/link_invalid.html"), 410
    errors = {}
    if request.method == "POST":
        data, errors = load_form(NewPasswordSchema(), request.form)
        if not errors:
            user.set_password(data["password"])
            g.staff = user
            record("staff.password_reset", "staff_user", user.id)
            start_session(user)
            db.session.commit()
            return redirect(url_for("dashboard.index"))
    return render_template("staff/reset.html", user=user, errors=errors), 422 if errors else 200


def _now() -> datetime:
    return datetime.now(UTC)


@bp.app_template_filter("local")
def local_time(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Show a UTC time in the signed-in staff member's time zone."""
    if moment is None:
        return ""
    zone = ZoneInfo(g.staff.timezone if getattr(g, "staff", None) else "UTC")
    return moment.astimezone(zone).strftime(fmt)
