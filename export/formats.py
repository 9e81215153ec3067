"""The five upload files, byte for byte (pure): reference/export-formats.md §0.

Every file is UTF-8 without BOM, starts with `Parameters:TimeZone=+0000`, writes times in
UTC as `yyyy-MM-dd HH:mm:ss`, and quotes a cell (RFC 4180) only when it must. IDs and
hashes are written untouched: a gclid may begin with "-", and prefixing it would break it.
"""

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

TIMEZONE_ROW = "Parameters:TimeZone=+0000"
THOUSANDTHS = Decimal("0.001")

MICROSOFT_CONVERSIONS = ("Microsoft Click ID", "Conversion Name", "Conversion Time",
                         "Conversion Value", "Conversion Currency")  # fmt: skip
MICROSOFT_HASHED = ("Hashed Email Address", "Hashed Phone Number")
MICROSOFT_ADJUSTMENTS = ("Microsoft Click ID", "Conversion Name", "Conversion Time",
                         "Adjustment Value", "Adjustment Currency", "Adjustment Type",
                         "Adjustment Time")  # fmt: skip
GOOGLE_CLICKS = ("Google Click ID", "Conversion Name", "Conversion Time", "Conversion Value",
                 "Conversion Currency", "Ad User Data", "Ad Personalization")  # fmt: skip
GOOGLE_BRAIDS = ("GBRAID", "WBRAID")
GOOGLE_ENHANCED = ("Email", "Phone Number", "Conversion Name", "Conversion Time",
                   "Conversion Value", "Conversion Currency", "Ad User Data",
                   "Ad Personalization")  # fmt: skip
GOOGLE_ADJUSTMENTS = ("Google Click ID", "Conversion Name", "Conversion Time", "Adjustment Time",
                      "Adjustment Type", "Adjusted Value", "Adjusted Value Currency")  # fmt: skip
ADJUSTMENT_WORDS = {
    "microsoft": {"restate": "Restate", "retract": "Retract"},
    "google": {"restate": "RESTATE", "retract": "RETRACT"},
}
CONSENT_WORDS = {"granted": "Granted", "denied": "Denied"}


@dataclass(frozen=True)
class ConversionRow:
    """One conversion as a platform file needs it."""

    conversion_name: str
    converted_at: datetime
    value: Decimal | None = None
    currency: str | None = None
    msclkid: str | None = None
    gclid: str | None = None
    gbraid: str | None = None
    wbraid: str | None = None
    email_sha256: str | None = None
    phone_sha256: str | None = None
    ad_user_data: str | None = None
    ad_personalization: str | None = None


@dataclass(frozen=True)
class AdjustmentRow:
    """One restatement or retraction, keyed like the conversion it adjusts."""

    conversion_name: str
    converted_at: datetime
    kind: str  # "restate" or "retract"
    adjusted_at: datetime
    value: Decimal | None = None
    currency: str | None = None
    msclkid: str | None = None
    gclid: str | None = None


def format_time(moment: datetime) -> str:
    """Write an aware time as UTC `yyyy-MM-dd HH:mm:ss`."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime; export times must be aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def format_value(value: Decimal | None) -> str:
    """Write a value with a period, at most three decimals, never an exponent."""
    if value is None:
        return ""
    text = format(value.quantize(THOUSANDTHS), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def consent_word(consent: str | None) -> str:
    """Write `Granted`, `Denied`, or nothing for unspecified consent."""
    return CONSENT_WORDS.get(consent or "", "")


def write_csv(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    """Return the file text: the time-zone row, the header, the rows, CRLF line ends."""
    buffer = io.StringIO()
    buffer.write(TIMEZONE_ROW + "\r\n")
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def microsoft_conversions(rows: Iterable[ConversionRow], hashed: bool) -> str:
    """Return a Microsoft offline-conversions file, hashed columns last when enabled."""
    header = MICROSOFT_CONVERSIONS + (MICROSOFT_HASHED if hashed else ())
    return write_csv(header, (
        (row.msclkid or "", row.conversion_name, format_time(row.converted_at),
         format_value(row.value), row.currency or "",
         *((row.email_sha256 or "", row.phone_sha256 or "") if hashed else ()))
        for row in rows
    ))  # fmt: skip


def microsoft_adjustments(rows: Iterable[AdjustmentRow]) -> str:
    """Return a Microsoft conversion-adjustments file (Restate / Retract)."""
    return write_csv(MICROSOFT_ADJUSTMENTS, (
        (row.msclkid or "", row.conversion_name, format_time(row.converted_at),
         format_value(row.value) if row.kind == "restate" else "",
         (row.currency or "") if row.kind == "restate" else "",
         ADJUSTMENT_WORDS["microsoft"][row.kind], format_time(row.adjusted_at))
        for row in rows
    ))  # fmt: skip


def google_clicks(rows: Iterable[ConversionRow], braids: bool = False) -> str:
    """Return a Google click-conversions file; GBRAID/WBRAID get columns of their own."""
    header = GOOGLE_CLICKS + (GOOGLE_BRAIDS if braids else ())
    return write_csv(header, (
        (row.gclid or "", row.conversion_name, format_time(row.converted_at),
         format_value(row.value), row.currency or "", consent_word(row.ad_user_data),
         consent_word(row.ad_personalization),
         *((row.gbraid or "", row.wbraid or "") if braids else ()))
        for row in rows
    ))  # fmt: skip


def google_enhanced(rows: Iterable[ConversionRow]) -> str:
    """Return a Google enhanced-conversions-for-leads file of hashed email and phone."""
    return write_csv(GOOGLE_ENHANCED, (
        (row.email_sha256 or "", row.phone_sha256 or "", row.conversion_name,
         format_time(row.converted_at), format_value(row.value), row.currency or "",
         consent_word(row.ad_user_data), consent_word(row.ad_personalization))
        for row in rows
    ))  # fmt: skip


def google_adjustments(rows: Iterable[AdjustmentRow]) -> str:
    """Return a Google conversion-adjustments file keyed by click ID and time."""
    return write_csv(GOOGLE_ADJUSTMENTS, (
        (row.gclid or "", row.conversion_name, format_time(row.converted_at),
         format_time(row.adjusted_at), ADJUSTMENT_WORDS["google"][row.kind],
         format_value(row.value) if row.kind == "restate" else "",
         (row.currency or "") if row.kind == "restate" else "")
        for row in rows
    ))  # fmt: skip
