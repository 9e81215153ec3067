"""The workspace's forms as marshmallow schemas, on the field types the rules define."""

from types import SimpleNamespace

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from export.platforms import goal_platforms
from leads.conversion_rules import MAX_WINDOW_DAYS, RuleError, check_platform_name
from leads.fields import Currency, LocalTime, Money
from staff.fields import Text


class PlatformName(Text):
    """A goal's name on a platform: exactly the platform's, never a spreadsheet formula."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        try:
            return check_platform_name(super()._deserialize(value, attr, data, **kwargs))
        except RuleError as error:
            raise ValidationError(str(error)) from error


HUNDRED = validate.Length(max=100, error="At most 100 characters.")


class GoalSchema(Schema):
    name = Text(required=True, validate=HUNDRED,
                error_messages={"required": "Give the goal a name."})  # fmt: skip
    microsoft_goal_name = PlatformName(validate=HUNDRED, load_default=None)
    google_action_name = PlatformName(validate=HUNDRED, load_default=None)
    microsoft_hashed = fields.Boolean(load_default=False)
    google_enhanced = fields.Boolean(load_default=False)
    default_value = Money(load_default=None)
    default_currency = Currency(load_default=None)
    window_days = fields.Integer(load_default=MAX_WINDOW_DAYS, validate=validate.Range(
        1, MAX_WINDOW_DAYS, error="The conversion window is 1 to 90 days."
    ), error_messages={"invalid": "The conversion window is 1 to 90 days."})  # fmt: skip

    @validates_schema
    def named_somewhere(self, data: dict, **kwargs) -> None:
        """Require the goal's name on at least one platform."""
        if not data["microsoft_goal_name"] and not data["google_action_name"]:
            raise ValidationError(
                "Enter the Microsoft goal name or the Google conversion action name, or both.",
                "microsoft_goal_name",
            )

    @validates_schema
    def default_currency_taken(self, data: dict, **kwargs) -> None:
        """Require a currency with a default value, one every platform of the goal takes."""
        currency = data["default_currency"]
        if data["default_value"] is not None and not currency:
            raise ValidationError("Choose the currency of the default value.", "default_currency")
        refusing = [p.title for p in goal_platforms(SimpleNamespace(**data))
                    if currency and p.currency_code(currency) is None]  # fmt: skip
        if refusing:
            raise ValidationError(
                f"{' and '.join(refusing)} does not take {currency}: every conversion in it "
                "would be left out of that platform's file. Choose another currency.",
                "default_currency",
            )


class ConversionSchema(Schema):
    """A conversion's time (in the staff member's zone), value and currency."""

    converted_at = LocalTime(required=True,
                             error_messages={"required": "Enter the conversion time."})  # fmt: skip
    value = Money(load_default=None)
    currency = Currency(load_default=None)

    def __init__(self, *, timezone: str, **kwargs):
        super().__init__(**kwargs)
        self.timezone = timezone


class RestateSchema(Schema):
    """A conversion's new total value."""

    value = Money(required=True)
    currency = Currency(required=True)
