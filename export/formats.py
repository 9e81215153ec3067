"""The five upload files, byte for byte (pure): reference/export-formats.md §0.

Every file is UTF-8 without BOM, starts with `Parameters:TimeZone=+0000`, writes times in
UTC as `yyyy-MM-dd HH:mm:ss`, and quotes a cell (RFC 4180) only when it must. IDs and
hashes are written untouched: a gclid may begin with "-", and prefixing it would break it.
The one free-text cell, the conversion name, never starts a spreadsheet formula.
"""

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TextIO

from leads.conversion_rules import FORMULA_STARTS

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


def spreadsheet_safe(text: str) -> str:
    """Prefix a quote to a free-text cell that a spreadsheet would run as a formula.

    The goal form refuses such names; this guards the rows stored before it did.
    """
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(stream: TextIO, header: Iterable[str], rows: Iterable[Iterable[str]]) -> None:
    """Write the time-zone row, the header and the rows to a text stream, CRLF line ends."""
    stream.write(TIMEZONE_ROW + "\r\n")
    writer = csv.writer(stream, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)


def _microsoft_conversion(row: ConversionRow, hashed: bool) -> tuple[str, ...]:
    return (row.msclkid or "", spreadsheet_safe(row.conversion_name), format_time(row.converted_at),
            format_value(row.value), row.currency or "",
            *((row.email_sha256 or "", row.phone_sha256 or "") if hashed else ()))  # fmt: skip


def _microsoft_adjustment(row: AdjustmentRow, _: bool) -> tuple[str, ...]:
    restate = row.kind == "restate"
    return (row.msclkid or "", spreadsheet_safe(row.conversion_name), format_time(row.converted_at),
            format_value(row.value) if restate else "", (row.currency or "") if restate else "",
            ADJUSTMENT_WORDS["microsoft"][row.kind], format_time(row.adjusted_at))  # fmt: skip


def _google_click(row: ConversionRow, braids: bool) -> tuple[str, ...]:
    return (row.gclid or "", spreadsheet_safe(row.conversion_name), format_time(row.converted_at),
            format_value(row.value), row.currency or "", consent_word(row.ad_user_data),
            consent_word(row.ad_personalization),
            *((row.gbraid or "", row.wbraid or "") if braids else ()))  # fmt: skip


def _google_enhanced(row: ConversionRow, _: bool) -> tuple[str, ...]:
    return (row.email_sha256 or "", row.phone_sha256 or "", spreadsheet_safe(row.conversion_name),
            format_time(row.converted_at), format_value(row.value), row.currency or "",
            consent_word(row.ad_user_data), consent_word(row.ad_personalization))  # fmt: skip


def _google_adjustment(row: AdjustmentRow, _: bool) -> tuple[str, ...]:
    restate = row.kind == "restate"
    return (row.gclid or "", spreadsheet_safe(row.conversion_name), format_time(row.converted_at),
            format_time(row.adjusted_at), ADJUSTMENT_WORDS["google"][row.kind],
            format_value(row.value) if restate else "",
            (row.currency or "") if restate else "")  # fmt: skip


@dataclass(frozen=True)
class FileKind:
    """One of the five upload files: its platform, what a row is, its columns."""

    name: str
    platform: str
    subject: str  # "conversion" or "adjustment"
    title: str
    header: tuple[str, ...]
    cells: Callable[[ConversionRow | AdjustmentRow, bool], tuple[str, ...]]
    optional_columns: tuple[str, ...] = ()  # written when a file needs them

    def columns(self, optional: bool) -> tuple[str, ...]:
        return self.header + (self.optional_columns if optional else ())

    def write(self, stream: TextIO, rows: Iterable, optional: bool = False) -> None:
        """Write the whole file to a text stream, row by row."""
        write_csv(stream, self.columns(optional), (self.cells(row, optional) for row in rows))

    def render(self, rows: Iterable, optional: bool = False) -> str:
        """Return the whole file as text."""
        buffer = io.StringIO()
        self.write(buffer, rows, optional)
        return buffer.getvalue()


FILE_KINDS = {kind.name: kind for kind in (
    FileKind("microsoft-conversions", "microsoft", "conversion", "Microsoft conversions",
             MICROSOFT_CONVERSIONS, _microsoft_conversion, MICROSOFT_HASHED),
    FileKind("microsoft-adjustments", "microsoft", "adjustment", "Microsoft adjustments",
             MICROSOFT_ADJUSTMENTS, _microsoft_adjustment),
    FileKind("google-clicks", "google", "conversion", "Google click conversions",
             GOOGLE_CLICKS, _google_click, GOOGLE_BRAIDS),
    FileKind("google-enhanced", "google", "conversion",
             "Google enhanced conversions for leads", GOOGLE_ENHANCED, _google_enhanced),
    FileKind("google-adjustments", "google", "adjustment", "Google adjustments",
             GOOGLE_ADJUSTMENTS, _google_adjustment),
)}  # fmt: skip
