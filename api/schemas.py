"""What a CRM sends: a conversion, with its lead named one of several ways."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from api.matching import LEAD_KEYS
from leads.fields import Currency, Money
from staff.fields import Text

EXTERNAL_ID = validate.Length(min=1, max=200, error="Between 1 and 200 characters.")
LEAD_KEY = validate.Length(min=1, max=500, error="Between 1 and 500 characters.")
ONE_LEAD = f"Name the lead with exactly one of {', '.join(LEAD_KEYS)}."


def read_external_id(text: str) -> str:
    """Return a CRM's id of a conversion (from an address or a file's column), checked."""
    try:
        return Text(validate=EXTERNAL_ID).deserialize(text)
    except ValidationError as error:
        raise ValidationError({"external_id": error.messages}) from None


class ConversionTime(fields.Field):
    """An ISO 8601 time with an offset (Z counts); without one, in the schema's time zone
    when it has one (a CSV import in the staff member's zone), else refused."""

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError as error:
            raise ValidationError(
                "Give an ISO 8601 time, such as 2026-11-30T14:05:00+01:00."
            ) from error
        if moment.tzinfo is None:
            zone = self.parent.timezone
            if zone is None:
                raise ValidationError(
                    "Give the time with its offset, such as 2026-11-30T14:05:00+01:00 or "
                    "2026-11-30T13:05:00Z."
                )
            moment = moment.replace(tzinfo=ZoneInfo(zone))
        return moment.astimezone(UTC)


class ConversionBody(Schema):
    """A conversion as the API and the CSV import take it."""

    class Meta:
        unknown = RAISE

    lead_id = Text(validate=LEAD_KEY)
    email = Text(validate=LEAD_KEY)
    phone = Text(validate=LEAD_KEY)
    msclkid = Text(validate=LEAD_KEY)
    gclid = Text(validate=LEAD_KEY)
    gbraid = Text(validate=LEAD_KEY)
    wbraid = Text(validate=LEAD_KEY)
    goal = Text(
        required=True,
        validate=validate.Length(min=1, max=100),
        error_messages={"required": "Name the goal, as it is named under Goals."},
    )
    converted_at = ConversionTime(
        required=True, error_messages={"required": "Give the conversion time."}
    )
    value = Money(load_default=None, allow_none=True)
    currency = Currency(load_default=None, allow_none=True)

    def __init__(self, *, timezone: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.timezone = timezone

    @validates_schema
    def one_lead(self, data: dict, **kwargs) -> None:
        if len([key for key in LEAD_KEYS if data.get(key)]) != 1:
            raise ValidationError(ONE_LEAD, "lead")

    @post_load
    def lead_key(self, data: dict, **kwargs) -> dict:
        """Put the lead's key aside: {"lead": (key, value)} with the conversion's fields."""
        [key] = [key for key in LEAD_KEYS if data.get(key)]
        return {"lead": (key, data.pop(key)),
                **{k: v for k, v in data.items() if k not in LEAD_KEYS}}  # fmt: skip
