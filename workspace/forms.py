"""The workspace's forms as marshmallow schemas, on the field types the rules define."""

from types import SimpleNamespace

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from export.platforms import goal_platforms
from leads.conversion_rules import (
    MAX_WINDOW_DAYS,
    RuleError,
    check_platform_name,
    local_to_utc,
    parse_currency,
    parse_value,
)
from staff.fields import Text


class Rule(fields.Field):
    """A field read by one of the conversion rules, whose message says how to fix it."""

    def __init__(self, parse, **kwargs):
        super().__init__(**kwargs)
        self.parse = parse

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return self.parse(str(value))
        except RuleError as error:
            raise ValidationError(str(error)) from error


class Money(Rule):
    """A value: a period, at most three decimals, within the platforms' range."""

    def __init__(self, **kwargs):
        kwargs.setdefault("error_messages", {"required": "Enter a number such as 1234.50."})
        super().__init__(parse_value, **kwargs)


class Currency(Rule):
    """An ISO 4217 currency code."""

    def __init__(self, **kwargs):
        message = "Choose a currency from the list (an ISO 4217 code, such as USD)."
        kwargs.setdefault("error_messages", {"required": message})
        super().__init__(parse_currency, **kwargs)


class LocalTime(fields.Field):
    """A wall-clock time in the schema's time zone (the staff member's), read as UTC."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return local_to_utc(str(value), self.parent.timezone)
        except RuleError as error:
            raise ValidationError(str(error)) from error


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
