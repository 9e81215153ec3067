"""Validation of the staff forms."""

from zoneinfo import available_timezones

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from staff.fields import Text
from staff.models import ROLES

PASSWORD = validate.Length(min=12, max=200, error="Use at least 12 characters.")
TIMEZONES = frozenset(available_timezones())  # any valid zone is accepted
# What the picker offers: the zones of these regions (no "Factory", "localtime", "US/…"
# or "Etc/…" aliases), the common ones first.
REGIONS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia",
           "Europe", "Indian", "Pacific")  # fmt: skip
COMMON_ZONES = ("UTC", "Europe/London", "Europe/Berlin", "Europe/Stockholm", "Europe/Paris",
                "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
                "Asia/Tokyo", "Asia/Kolkata", "Australia/Sydney")  # fmt: skip


def zone_choices(*wanted: str) -> list[tuple[str, list[str]]]:
    """Return the time-zone picker's groups: the common zones (and `wanted` ones), then
    every zone by region."""
    by_region: dict[str, list[str]] = {region: [] for region in REGIONS}
    for zone in sorted(TIMEZONES):
        region = zone.split("/")[0]
        if "/" in zone and region in by_region:
            by_region[region].append(zone)
    common = list(dict.fromkeys(z for z in (*wanted, *COMMON_ZONES) if z in TIMEZONES))
    return [("Common", common), *by_region.items()]


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
