"""Conversion and adjustment rules as tables, including time-zone entry across DST."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from leads.conversion_rules import (
    RuleError,
    check_conversion_time,
    check_window,
    currencies,
    local_to_utc,
    money,
    parse_currency,
    parse_value,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [("0", Decimal("0")), ("1234.5", Decimal("1234.5")), ("1234.567", Decimal("1234.567")),
     ("999999999999", Decimal("999999999999")), ("999999999999.000", Decimal("999999999999")),
     (" 12.30 ", Decimal("12.30"))],
)  # fmt: skip
def test_valid_values(text, value):
    assert parse_value(text) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [("12,34", "period"), ("1,234.50", "period"), ("1234.5678", "three decimals"),
     ("-1", "number"), ("1e3", "number"), ("", "number"), ("abc", "number"), (".5", "number"),
     ("1000000000000", "at most"), ("NaN", "number"), ("Infinity", "number")],
)  # fmt: skip
def test_invalid_values_say_what_to_fix(text, message):
    with pytest.raises(RuleError, match=message):
        parse_value(text)


def test_currencies_are_iso_4217():
    assert {"USD", "EUR", "SEK", "JPY", "TRY", "VES", "MZN"} <= set(currencies())
    assert not {"TRL", "VEF", "XXX", "XAU", "XTS"} & set(currencies())  # withdrawn, not money
    assert parse_currency("usd") == "USD"
    assert parse_currency(" SEK ") == "SEK"
    assert parse_currency("try") == "TRY"
    for code in ("TRL", "XXX", "US", "", "€"):
        with pytest.raises(RuleError, match="currency"):
            parse_currency(code)


@pytest.mark.parametrize(
    ("text", "zone", "utc"),
    [
        ("2026-10-01T14:05", "UTC", datetime(2026, 10, 1, 14, 5, tzinfo=UTC)),
        ("2026-10-01 14:05", "Europe/Stockholm", datetime(2026, 10, 1, 12, 5, tzinfo=UTC)),
        ("2026-12-01T14:05", "Europe/Stockholm", datetime(2026, 12, 1, 13, 5, tzinfo=UTC)),
        ("2026-03-08T01:59", "America/New_York", datetime(2026, 3, 8, 6, 59, tzinfo=UTC)),
        ("2026-03-08T03:00", "America/New_York", datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),
        # Clocks go back at 02:00 EDT: 01:30 happens twice; the first (EDT) is taken.
        ("2026-11-01T01:30", "America/New_York", datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),
        ("2026-11-01T02:30", "America/New_York", datetime(2026, 11, 1, 7, 30, tzinfo=UTC)),
        ("2026-10-25T02:30", "Europe/Stockholm", datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
    ],
)
def test_local_times_become_utc_across_dst(text, zone, utc):
    assert local_to_utc(text, zone) == utc


@pytest.mark.parametrize(
    ("text", "zone"),
    [("2026-03-08T02:30", "America/New_York"), ("2026-03-29T02:15", "Europe/Stockholm")],
)
def test_times_skipped_by_dst_are_refused(text, zone):
    with pytest.raises(RuleError, match="does not exist"):
        local_to_utc(text, zone)


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01T10:00", "2026-10-01T10:00+02:00", ""])
def test_unreadable_times_are_refused(text):
    with pytest.raises(RuleError):
        local_to_utc(text, "UTC")


NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LEAD = datetime(2026, 11, 20, 9, 30, 45, 500_000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("converted_at", "error"),
    [
        (NOW, None),
        # Compared at the files' precision, the second: the arrival's second is not before it.
        (datetime(2026, 11, 20, 9, 30, 45, tzinfo=UTC), None),
        (datetime(2026, 11, 20, 9, 30, 44, tzinfo=UTC), "before the lead"),
        (datetime(2026, 11, 20, 9, 30, tzinfo=UTC), "before the lead"),
        (datetime(2026, 11, 23, 12, 1, tzinfo=UTC), "future"),
    ],
)
def test_conversion_time_lies_between_lead_and_now(converted_at, error):
    if error is None:
        check_conversion_time(converted_at, LEAD, NOW)
    else:
        with pytest.raises(RuleError, match=error):
            check_conversion_time(converted_at, LEAD, NOW)


@pytest.mark.parametrize(
    ("days", "ok"), [(1, True), (30, True), (90, True), (0, False), (91, False)]
)
def test_window_is_at_most_90_days(days, ok):
    if ok:
        assert check_window(days) == days
    else:
        with pytest.raises(RuleError, match="1 to 90"):
            check_window(days)


@pytest.mark.parametrize(
    ("value", "currency", "shown"),
    [("12.5", "USD", "12.50 USD"), ("12.500", "USD", "12.50 USD"), ("1500", "JPY", "1,500 JPY"),
     ("1500.000", "JPY", "1,500 JPY"), ("1500.5", "JPY", "1,500.5 JPY"),
     ("12.505", "USD", "12.505 USD"), ("1234567.5", "BHD", "1,234,567.500 BHD"),
     ("0", "SEK", "0.00 SEK"), ("1E+3", "EUR", "1,000.00 EUR"), ("7", None, "7.00")],
)  # fmt: skip
def test_money_has_its_currencys_usual_decimals_and_more_only_when_entered(value, currency, shown):
    assert money(Decimal(value), currency) == shown
    assert money(None, currency) == ""
