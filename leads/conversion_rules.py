"""The rules for conversions and their adjustments (pure: `now` is passed in)."""

import csv
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

MAX_VALUE = Decimal("999999999999")
MAX_WINDOW_DAYS = 90
VALUE_PATTERN = re.compile(r"\d+(\.\d{1,3})?")
CURRENCY_FILE = Path(__file__).resolve().parent / "data" / "currencies.tsv"
# What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class RuleError(ValueError):
    """A value staff entered breaks a rule; the message says how to fix it."""


@cache
def currencies() -> dict[str, str]:
    """Return the platform's conversion currencies, code to name (reference/data)."""
    with CURRENCY_FILE.open(encoding="utf-8") as file:
        rows = csv.DictReader((line for line in file if not line.startswith("#")), delimiter="\t")
        return {row["code"]: row["name"] for row in rows}


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
    """Return a currency code from the platform list."""
    code = text.strip().upper()
    if code not in currencies():
        raise RuleError("Choose a currency from the list (three letters, such as USD).")
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
    if converted_at < lead_created.replace(second=0, microsecond=0):
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
