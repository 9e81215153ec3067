"""Who is signed in, and what their role lets them do."""

import functools

from flask import abort, g, redirect, request, session, url_for

from database import db
from staff.models import StaffUser


def load_signed_in_staff() -> None:
    """Put the signed-in, active staff member in g.staff, or None."""
    g.staff = None
    staff_id = session.get("staff_id")
    if staff_id is None:
        return
    user = db.session.get(StaffUser, staff_id)
    if user and user.active and session.get("nonce") == user.session_nonce:
        g.staff = user


def sign_in(user: StaffUser) -> None:
    """Start a fresh session for the user; nothing from before sign-in survives."""
    session.clear()
    session.permanent = True
    session["staff_id"] = user.id
    session["nonce"] = user.session_nonce


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
            "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'none'; "
            "frame-ancestors 'none'; form-action 'self'"
        )
    return response
