"""What every staff form shares: one text field, and one way to load a submitted form."""

from marshmallow import Schema, ValidationError, fields

UNTRIMMED = ("password", "confirm")  # a password's spaces are the user's


class Text(fields.String):
    """A line of text without control characters.

    No name, email or label needs a line break, tab or NUL, and PostgreSQL cannot even
    look a NUL up; refusing them here spares every form and every query.
    """

    default_error_messages = {"control": "Remove the control characters (line breaks, tabs, NUL)."}

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if any(ord(char) < 32 or ord(char) == 127 for char in text):
            raise self.make_error("control")
        return text


def load_form(schema: Schema, form) -> tuple[dict, dict]:
    """Return (data, errors) for a submitted form: trimmed, and empty fields count as missing."""
    values = {name: value if name in UNTRIMMED else value.strip()
              for name, value in form.items() if name != "csrf_token"}  # fmt: skip
    try:
        return schema.load({k: v for k, v in values.items() if v != ""}, unknown="exclude"), {}
    except ValidationError as error:
        return {}, error.messages
