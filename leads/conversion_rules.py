"""The rules for conversions and their adjustments (pure: `now` is passed in)."""

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from zoneinfo import ZoneInfo

import iso4217

MAX_VALUE = Decimal("999999999999")
MAX_WINDOW_DAYS = 90
VALUE_PATTERN = re.compile(r"\d+(\.\d{1,3})?")
# What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class RuleError(ValueError):
    """A value staff entered breaks a rule; the message says how to fix it."""


@cache
def currencies() -> dict[str, str]:
    """Return the ISO 4217 currencies, code to name; not metals, funds or test codes."""
    money = (c for c in iso4217.Currency if c.exponent is not None)
    return {c.code: c.currency_name for c in sorted(money, key=lambda c: c.code)}


def minor_units(code: str | None) -> int:
    """Return how many decimals a currency's amounts usually have (2 when unknown)."""
    currency = iso4217.Currency.__members__.get((code or "").lower())
    return currency.exponent if currency and currency.exponent is not None else 2


def money(value: Decimal | None, currency: str | None) -> str:
    """Show an amount with its currency's usual decimals, more only when entered.

    `money(Decimal("12.5"), "USD")` is "12.50 USD"; `money(Decimal("1500"), "JPY")` is
    "1,500 JPY".
    """
    if value is None:
        return ""
    text = f"{value:,.{decimals(value, currency)}f}"
    return f"{text} {currency}" if currency else text


def decimals(value: Decimal, currency: str | None) -> int:
    """Return how many decimals to show: the currency's usual, more only when entered."""
    entered = max(-value.normalize().as_tuple().exponent, 0)
    return max(minor_units(currency), entered)


def to_second(moment: datetime) -> datetime:
    """Return a time at the precision the upload files carry.

    Every comparison of a conversion's time (with the lead's arrival at entry, with the
    click at export) is made at this precision, so entry and export always agree.
    """
    return moment.replace(microsecond=0)


def parse_value(text: str) -> Decimal:
    """Return a conversion value: 0..999999999999, a period, at most three decimals."""
    text = text.strip()
    if "," in text:
        raise RuleError("Use a period for decimals, as in 1234.50, and no thousands separator.")
    if not VALUE_PATTERN.fullmatch(text):
        raise RuleError("Enter a number such as 1234.50, with at most three decimals.")
    try:
        value = Decimal(text)
    except InvalidOperation as error:
        raise RuleError("Enter a number such as 1234.50.") from error
    if value > MAX_VALUE:
        raise RuleError("The value can be at most 999999999999.")
    return value


def parse_currency(text: str) -> str:
    """Return an ISO 4217 currency code."""
    code = text.strip().upper()
    if code not in currencies():
        raise RuleError("Choose a currency from the list (an ISO 4217 code, such as USD).")
    return code


def local_to_utc(text: str, timezone: str) -> datetime:
    """Turn a wall-clock time entered in a time zone into UTC.

    A time that does not exist (clocks going forward) is refused; a time that occurs twice
    (clocks going back) is read as the first of the two.
    """
    try:
        naive = datetime.fromisoformat(text.strip())
    except ValueError as error:
        raise RuleError("Enter a date and time such as 2026-10-01 14:05.") from error
    if naive.tzinfo is not None:
        raise RuleError("Enter the time without a UTC offset; your time zone applies.")
    zone = ZoneInfo(timezone)
    local = naive.replace(tzinfo=zone, fold=0)
    utc = local.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != naive:
        raise RuleError(f"{naive:%Y-%m-%d %H:%M} does not exist in {timezone}: the clocks "
                        "went forward then. Enter a time after the change.")  # fmt: skip
    return utc


def check_conversion_time(converted_at: datetime, lead_created: datetime, now: datetime) -> None:
    """Refuse a conversion before the lead arrived or in the future."""
    if converted_at > now:
        raise RuleError("The conversion time is in the future.")
    if to_second(converted_at) < to_second(lead_created):
        raise RuleError("The conversion time is before the lead arrived.")


def check_platform_name(name: str) -> str:
    """Return a goal's platform name unless a spreadsheet would run it as a formula.

    The name must match the platform's exactly, so it is refused rather than altered.
    """
    if name.startswith(FORMULA_STARTS):
        raise RuleError(
            "Spreadsheets would run a name starting with =, +, -, @, a tab or a line break "
            "as a formula: rename the goal on the platform and here."
        )
    return name


def check_window(window_days: int) -> int:
    """Return a conversion window of 1 to 90 days."""
    if not 1 <= window_days <= MAX_WINDOW_DAYS:
        raise RuleError("The conversion window is 1 to 90 days.")
    return window_days
