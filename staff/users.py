"""Admins manage staff: invitations, roles, deactivation and password-reset links."""

from datetime import UTC, datetime, timedelta

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from database import db
from staff.access import roles_required
from staff.audit import record
from staff.confirm import confirmation_page, confirmed, show_once, shown_once
from staff.fields import load_form
from staff.models import ROLES, Invitation, StaffUser
from staff.schemas import InvitationSchema
from staff.tokens import INVITATION_MAX_AGE, make_token

bp = Blueprint("staff_users", __name__, url_prefix="/staff/users", template_folder="templates")


def reset_link(user: StaffUser) -> str:
    """Return a single-use password-reset link for the user."""
    token = make_token("reset", {"user": user.id, "nonce": user.session_nonce})
    return url_for("staff.reset_password", token=token, _external=True)


def _page(errors=None, status=200):
    users = db.session.execute(db.select(StaffUser).order_by(StaffUser.email)).scalars().all()
    since = datetime.now(UTC) - timedelta(seconds=INVITATION_MAX_AGE)
    pending = db.session.execute(
        db.select(Invitation).where(Invitation.used_at.is_(None), Invitation.created_at > since)
        .order_by(Invitation.created_at.desc())
    ).scalars().all()  # fmt: skip
    return render_template(
        "staff/users.html", users=users, roles=ROLES, errors=errors or {}, link=shown_once(),
        pending=pending, expires=timedelta(seconds=INVITATION_MAX_AGE),
    ), status  # fmt: skip


@bp.get("/")
@roles_required("admin")
def index():
    """List staff members."""
    return _page()


@bp.post("/invite")
@roles_required("admin")
def invite():
    """Create an invitation and show its link once."""
    data, errors = load_form(InvitationSchema(), request.form)
    email = data.get("email", "").lower()
    if (
        not errors
        and db.session.execute(db.select(StaffUser.id).where(StaffUser.email == email)).first()
    ):
        errors = {"email": ["This person has an account already."]}
    if errors:
        return _page(errors=errors, status=422)
    invitation = Invitation(email=email, role=data["role"], created_by=g.staff.id,
                            created_at=datetime.now(UTC))  # fmt: skip
    db.session.add(invitation)
    db.session.flush()
    record(
        "staff.invite", "invitation", invitation.id, None, {"email": email, "role": data["role"]}
    )
    db.session.commit()
    token = make_token("invitation", {"invitation": invitation.id})
    show_once("Invitation link for " + email,
              url_for("staff.accept_invitation", token=token, _external=True))  # fmt: skip
    return redirect(url_for("staff_users.index"))


def _user(user_id: int) -> StaffUser:
    user = db.get_or_404(StaffUser, user_id)
    if user.id == g.staff.id:
        abort(409, "Ask another admin to change your own role or access.")
    return user


@bp.post("/<int:user_id>/role")
@roles_required("admin")
def change_role(user_id: int):
    """Give a staff member another role."""
    user = _user(user_id)
    role = request.form.get("role", "")
    if role not in ROLES:
        return _page(errors={"role": ["Choose admin, sales or viewer."]}, status=422)
    record("staff.role", "staff_user", user.id, {"role": user.role}, {"role": role})
    user.role = role
    db.session.commit()
    flash(f"{user.email} is now {role}.")
    return redirect(url_for("staff_users.index"))


@bp.post("/<int:user_id>/active")
@roles_required("admin")
def set_active(user_id: int):
    """Deactivate or reactivate a staff member; deactivation ends their sessions."""
    user = _user(user_id)
    active = request.form.get("active") == "1"
    if not active and not confirmed():
        return confirmation_page(
            f"Deactivate {user.email}?",
            ["They are signed out at once and cannot sign in until an admin reactivates them."],
            "Deactivate", url_for("staff_users.index"),
        )  # fmt: skip
    record("staff.active", "staff_user", user.id, {"active": user.active}, {"active": active})
    user.active = active
    db.session.commit()
    flash(f"{user.email} is now {'active' if active else 'deactivated'}.")
    return redirect(url_for("staff_users.index"))


@bp.post("/<int:user_id>/reset-link")
@roles_required("admin")
def make_reset_link(user_id: int):
    """Show a password-reset link for a staff member, once."""
    user = db.get_or_404(StaffUser, user_id)
    record("staff.reset_link", "staff_user", user.id)
    db.session.commit()
    show_once("Password-reset link for " + user.email, reset_link(user))
    return redirect(url_for("staff_users.index"))
