"""Form and API field types read by the conversion rules; each message says how to fix it."""

from marshmallow import ValidationError, fields

from leads.conversion_rules import RuleError, local_to_utc, parse_currency, parse_value


class Rule(fields.Field):
    """A field read by one of the conversion rules."""

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
