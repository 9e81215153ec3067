"""API tokens (admin): create one for a CRM (shown once), see its last use, revoke it."""

from datetime import UTC, datetime

from flask import Blueprint, g, redirect, render_template, request, url_for
from marshmallow import Schema, ValidationError, fields, validate, validates
from werkzeug.datastructures import MultiDict

from api.models import SCOPES, ApiToken
from database import db
from staff.access import roles_required
from staff.audit import record
from staff.confirm import revoke as revoke_credential
from staff.confirm import show_once, shown_once
from staff.fields import Text

bp = Blueprint("tokens", __name__, url_prefix="/staff/tokens", template_folder="templates")


class TokenSchema(Schema):
    name = Text(
        required=True,
        validate=validate.Length(max=100, error="At most 100 characters."),
        error_messages={"required": "Name the token after what uses it, such as HubSpot."},
    )
    scopes = fields.List(fields.String(validate=validate.OneOf(list(SCOPES))), required=True,
                         error_messages={"required": "Choose what the token may do."})  # fmt: skip

    @validates("scopes")
    def some_scope(self, scopes: list[str], **kwargs) -> None:
        if not scopes:
            raise ValidationError("Choose what the token may do.")


def _page(errors: dict | None = None, form=None, status: int = 200):
    tokens = db.session.scalars(db.select(ApiToken).order_by(ApiToken.id.desc())).all()
    once = shown_once()  # (token id, token) right after it was created
    created, secret = (db.session.get(ApiToken, int(once[0])), once[1]) if once else (None, None)
    return render_template("workspace/tokens.html", tokens=tokens, scopes=SCOPES, created=created,
                           secret=secret, errors=errors or {},
                           form=form or MultiDict()), status  # fmt: skip


@bp.get("/")
@roles_required("admin")
def index():
    """List the tokens and offer to create one."""
    return _page()


@bp.post("/")
@roles_required("admin")
def create():
    """Create a token; the page after shows it once."""
    name = request.form.get("name", "").strip()
    form = {"scopes": request.form.getlist("scope"), **({"name": name} if name else {})}
    try:
        data = TokenSchema().load(form)
    except ValidationError as error:
        return _page(error.messages, request.form, 422)
    token, secret = ApiToken.issue(data["name"], data["scopes"], datetime.now(UTC), g.staff.id)
    db.session.add(token)
    db.session.flush()
    record("token.create", "token", token.id, None, {"name": token.name, "scopes": token.scopes})
    db.session.commit()
    show_once(str(token.id), secret)
    return redirect(url_for("tokens.index"))


@bp.post("/<int:token_id>/revoke")
@roles_required("admin")
def revoke(token_id: int):
    """Stop a token from working, for good."""
    token = db.get_or_404(ApiToken, token_id)
    return revoke_credential(
        token, "token", f"the API token {token.name}",
        "Calls signed with it are refused from now on (401); whatever uses it needs a new "
        "token.", url_for("tokens.index"),
    )  # fmt: skip
