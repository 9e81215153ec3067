"""Validation of the staff forms."""

from zoneinfo import available_timezones

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from staff.fields import Text
from staff.models import ROLES

PASSWORD = validate.Length(min=12, max=200, error="Use at least 12 characters.")
TIMEZONES = frozenset(available_timezones())


class SignInSchema(Schema):
    email = Text(required=True, validate=validate.Length(max=254))
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

    name = Text(validate=validate.Length(max=200), load_default="")
    timezone = fields.String(
        required=True, validate=validate.OneOf(TIMEZONES, error="Choose a time zone from the list.")
    )
