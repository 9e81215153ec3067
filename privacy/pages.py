"""Personal data in the workspace (admin): find a person's leads and hand their data over,
and erase a lead. Emails and phones travel in form posts, never in addresses."""

import json
from datetime import UTC, datetime

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import text

from database import db
from leads.models import ERASED, Lead
from privacy.access import persons_data, persons_leads
from privacy.erasure import erase_lead
from staff.access import roles_required
from staff.audit import record
from staff.confirm import confirmation_page, confirmed

bp = Blueprint("privacy", __name__, url_prefix="/staff/privacy", template_folder="templates")


def _asked() -> tuple[str, str]:
    return request.form.get("email", "").strip(), request.form.get("phone", "").strip()


@bp.get("/")
@roles_required("admin")
def index():
    """Ask for the person's email or phone."""
    return render_template("privacy/find.html", email="", phone="", leads=None)


@bp.post("/")
@roles_required("admin")
def find():
    """List the person's leads (answering the post: the email stays out of the address)."""
    email, phone = _asked()
    if not email and not phone:
        return render_template("privacy/find.html", email="", phone="", leads=None,
                               error="Enter the person's email or phone."), 422  # fmt: skip
    leads = persons_leads(email, phone, current_app.config["DEFAULT_COUNTRY"])
    return render_template("privacy/find.html", email=email, phone=phone, leads=leads)


@bp.post("/download")
@roles_required("admin")
def download():
    """Send everything stored about the person as one JSON file; audited."""
    email, phone = _asked()
    now = datetime.now(UTC)
    leads = persons_leads(email, phone, current_app.config["DEFAULT_COUNTRY"])
    record("privacy.export", "lead", leads[0].id if leads else 0, None,
           {"leads": [lead.id for lead in leads]})  # fmt: skip
    db.session.commit()
    body = json.dumps(persons_data(leads, now), ensure_ascii=False, indent=2)
    name = f"closeloop-personal-data-{now:%Y%m%d-%H%M%S}.json"
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})  # fmt: skip


@bp.post("/leads/<int:lead_id>/erase")
@roles_required("admin")
def erase(lead_id: int):
    """Erase a lead's personal data, after a confirmation."""
    lead = db.get_or_404(Lead, lead_id)
    back = url_for("workspace.detail", lead_id=lead.id)
    if lead.status == ERASED:
        flash("This lead's personal data is erased already.")
        return redirect(back)
    if not confirmed():
        return confirmation_page(
            f"Erase the personal data of lead #{lead.id}?",
            ["Its name, email, phone, company, message, extra fields, the query strings of "
             "its landing page and referrer, and their hashes are deleted for good.",
             "Its conversions stay counted, but it is never in an upload file or feed again."],
            "Erase", back,
        )  # fmt: skip
    erase_lead(lead, datetime.now(UTC))
    db.session.commit()
    forget_freed_pages()
    flash("The lead's personal data is erased.")
    return redirect(back)


def forget_freed_pages() -> None:
    """On SQLite, move the WAL's copies of changed pages into the file and empty the WAL:
    with secure_delete on, the erased values are then in neither file."""
    if db.engine.dialect.name == "sqlite":
        db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        db.session.commit()
