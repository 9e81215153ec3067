"""Validation of the staff forms."""

from zoneinfo import available_timezones

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from staff.models import ROLES

PASSWORD = validate.Length(min=12, max=200, error="Use at least 12 characters.")
TIMEZONES = frozenset(available_timezones())


class SignInSchema(Schema):
    # No NUL: PostgreSQL text cannot hold it, so looking the email up would fail (a 500).
    email = fields.String(
        required=True, validate=[validate.Length(max=254), validate.ContainsNoneOf("\x00")]
    )
    password = fields.String(required=True, validate=validate.Length(max=200))


class InvitationSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class NewPasswordSchema(Schema):
    password = fields.String(required=True, validate=PASSWORD)
    confirm = fields.String(required=True)

    @validates_schema
    def passwords_match(self, data: dict, **kwargs) -> None:
        """Refuse two different passwords."""
        if data.get("password") != data.get("confirm"):
            raise ValidationError("The two passwords differ.", "confirm")


class AccountSchema(NewPasswordSchema):
    """A new member's details, or a change to one's own account."""

    name = fields.String(validate=validate.Length(max=200), load_default="")
    timezone = fields.String(
        required=True, validate=validate.OneOf(TIMEZONES, error="Choose a time zone from the list.")
    )


def form_errors(schema: Schema, form) -> tuple[dict, dict]:
    """Return (data, errors) for a submitted form: empty fields count as missing."""
    values = {k: v.strip() if k not in ("password", "confirm") else v for k, v in form.items()}
    values = {k: v for k, v in values.items() if v != "" and k != "csrf_token"}
    try:
        return schema.load(values, unknown="exclude"), {}
    except ValidationError as error:
        return {}, error.messages
