"""Validation of a lead's own fields."""

from functools import cache

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)
from phonenumbers import SUPPORTED_REGIONS

from leads.contact import e164_phone

URL_MAX = 2048
CONSENT = validate.OneOf(["granted", "denied"], error="Use granted or denied.")


class LeadSchema(Schema):
    """Contact fields, consent and where the visitor came from."""

    name = fields.String(validate=validate.Length(max=200))
    email = fields.Email(validate=validate.Length(max=254), error_messages={
        "invalid": "Enter an email address such as name@example.com."
    })  # fmt: skip
    phone = fields.String(validate=validate.Length(max=40))
    company = fields.String(validate=validate.Length(max=200))
    message = fields.String(validate=validate.Length(max=5000))
    country = fields.String(
        validate=validate.OneOf(sorted(SUPPORTED_REGIONS), error="Use a two-letter country code.")
    )
    landing_url = fields.String()
    referrer = fields.String()
    ad_user_data = fields.String(validate=CONSENT)
    ad_personalization = fields.String(validate=CONSENT)
    submission_id = fields.String(validate=validate.Length(max=200))

    def __init__(self, *, default_country: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.default_country = default_country

    @pre_load
    def tidy(self, data: dict, **kwargs) -> dict:
        """Trim text, drop empty fields, and cut over-long URLs rather than lose the lead."""
        tidy = {}
        for name, value in data.items():
            if isinstance(value, str):
                value = value.strip()
                if not value:
                    continue
                if name in ("ad_user_data", "ad_personalization"):
                    value = value.lower()
                elif name == "country":
                    value = value.upper()
                elif name in ("landing_url", "referrer"):
                    value = value[:URL_MAX]
            tidy[name] = value
        return tidy

    @validates_schema
    def require_contact(self, data: dict, **kwargs) -> None:
        """Require an email or a phone number."""
        if not data.get("email") and not data.get("phone"):
            message = "Enter an email address or a phone number."
            raise ValidationError({"email": [message], "phone": [message]})

    @post_load
    def dialable_phone(self, data: dict, **kwargs) -> dict:
        """Refuse a phone number that cannot be dialled; keep the one read as `phone_e164`."""
        if phone := data.get("phone"):
            data["phone_e164"] = e164_phone(phone, data.get("country") or self.default_country)
            if data["phone_e164"] is None:
                raise ValidationError(
                    "Enter a phone number we can call, with its country code (+1 425 555 0100).",
                    "phone",
                )
        return data


@cache
def lead_schema(default_country: str) -> LeadSchema:
    """Return the schema for a default country, built once: loading leaves it unchanged."""
    return LeadSchema(default_country=default_country)
