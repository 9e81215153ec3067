"""Ask before a destructive or doubtful action, without JavaScript, and show one-time
secrets once without a re-post."""

from datetime import UTC, datetime

from flask import flash, redirect, render_template, request, session

from database import db
from staff.audit import record


def confirmed() -> bool:
    """Tell whether the form was sent again from its confirmation page."""
    return request.form.get("confirmed") == "1"


def confirmation_page(title: str, items: list[str], button: str, back: str, intro: str = "",
                      danger: bool = True):  # fmt: skip
    """Ask to go ahead; yes re-posts the same form, with `confirmed`, to the same address."""
    fields = [(name, value) for name, values in request.form.lists() for value in values
              if name not in ("csrf_token", "confirmed")]  # fmt: skip
    return render_template("staff/confirm.html", title=title, intro=intro, items=items,
                           button=button, danger=danger, fields=fields, action=request.path,
                           back=back)  # fmt: skip


def show_once(title: str, secret: str) -> None:
    """Keep a secret for the next page only (the redirect after the post shows it)."""
    session["shown_once"] = [title, secret]


def shown_once() -> tuple[str, str] | None:
    """Return the secret kept for this page, and forget it."""
    kept = session.pop("shown_once", None)
    return tuple(kept) if kept else None


def revoke(row, object_type: str, title: str, consequence: str, back: str):
    """Revoke a credential (a feed's, an API token) for good, once asked and confirmed:
    set its revoked_at, audit it, say so, and go back."""
    if row.revoked_at is None and not confirmed():
        return confirmation_page(f"Revoke {title}?", [consequence], "Revoke", back)
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        record(f"{object_type}.revoke", object_type, row.id, {"revoked": False}, {"revoked": True})
        db.session.commit()
        flash(f"Revoked {title}.", "success")
    return redirect(back)
