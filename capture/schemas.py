"""Validation of click reports sent by the capture script."""

import re

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from capture.params import CLICK_ID_PARAMS

LANDING_URL_MAX = 2048


def _click_id_field(pattern: str, name: str) -> fields.String:
    rule = validate.Regexp(pattern, flags=re.ASCII, error=f"Not a valid {name}.")
    return fields.String(validate=rule)


class ClickReportSchema(
    Schema.from_dict({p.name: _click_id_field(p.pattern, p.name) for p in CLICK_ID_PARAMS})
):
    """One visit's click IDs and the landing page they arrived on."""

    class Meta:
        unknown = RAISE

    landing_url = fields.Url(
        schemes={"http", "https"},
        require_tld=False,
        validate=validate.Length(max=LANDING_URL_MAX),
        load_default=None,
    )

    @validates_schema
    def require_click_id(self, data: dict, **kwargs) -> None:
        """Refuse a report that carries no click ID."""
        if not any(p.name in data for p in CLICK_ID_PARAMS):
            names = ", ".join(p.name for p in CLICK_ID_PARAMS)
            raise ValidationError(f"Send at least one click ID ({names}).", "_schema")


CLICK_REPORT = ClickReportSchema()  # built once: loading leaves it unchanged
