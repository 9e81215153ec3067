"""Who is signed in, and what their role lets them do."""

import functools
import secrets
from datetime import UTC, datetime, timedelta

from flask import abort, current_app, g, redirect, request, session, url_for
from sqlalchemy import delete

from database import db
from staff.models import StaffSession, StaffUser


def load_signed_in_staff() -> None:
    """Put the signed-in, active staff member in g.staff, or None."""
    g.staff = None
    if not isinstance(session.get("sid"), str):
        return
    signed_in = db.session.get(StaffSession, session["sid"])
    user = db.session.get(StaffUser, signed_in.staff_id) if signed_in else None
    if user and user.active and session.get("nonce") == user.session_nonce:
        g.staff = user


def sign_in(user: StaffUser) -> None:
    """Start a fresh session for the user; nothing from before sign-in survives (no commit).

    The browser's previous session and sessions older than the lifetime are deleted.
    """
    sign_out()
    now = datetime.now(UTC)
    lifetime = timedelta(seconds=current_app.config["PERMANENT_SESSION_LIFETIME"])
    db.session.execute(delete(StaffSession).where(StaffSession.created_at < now - lifetime))
    signed_in = StaffSession(id=secrets.token_urlsafe(32), staff_id=user.id, created_at=now)
    db.session.add(signed_in)
    session.clear()
    session.permanent = True
    session["sid"] = signed_in.id
    session["nonce"] = user.session_nonce


def sign_out() -> None:
    """End this browser's session on the server as well as in its cookie (no commit)."""
    if isinstance(session.get("sid"), str):
        db.session.execute(delete(StaffSession).where(StaffSession.id == session["sid"]))
    session.clear()


def login_required(view):
    """Send anonymous visitors to the sign-in page."""

    @functools.wraps(view)
    def wrapped(**kwargs):
        if g.staff is None:
            return redirect(url_for("staff.sign_in", next=request.full_path.rstrip("?")))
        return view(**kwargs)

    return wrapped


def roles_required(*roles: str):
    """Allow the view to signed-in staff with one of the roles; others get 403."""

    def decorator(view):
        @functools.wraps(view)
        @login_required
        def wrapped(**kwargs):
            if g.staff.role not in roles:
                abort(403, "Your role does not allow this.")
            return view(**kwargs)

        return wrapped

    return decorator


def editors_only(view):
    """Allow admins and sales staff; viewers may only look."""
    return roles_required("admin", "sales")(view)


def protect_staff_pages(response):
    """Keep workspace pages out of caches and frames, and scripts out of them."""
    if request.path.startswith("/staff"):
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "script-src 'none'; "
            "frame-ancestors 'none'; form-action 'self'"
        )
    return response
