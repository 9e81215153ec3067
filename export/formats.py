"""The six upload files, byte for byte (pure): reference/export-formats.md §0.

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
                   "Ad Personalization", "Google Click ID", "Order ID")  # fmt: skip
GOOGLE_ADJUSTMENTS = ("Google Click ID", "Conversion Name", "Conversion Time", "Adjustment Time",
                      "Adjustment Type", "Adjusted Value", "Adjusted Value Currency")  # fmt: skip
GOOGLE_ORDER_ADJUSTMENTS = ("Order ID", "Conversion Name", "Adjustment Time", "Adjustment Type",
                            "Adjusted Value", "Adjusted Value Currency")  # fmt: skip
ADJUSTMENT_WORDS = {
    "microsoft": {"restate": "Restate", "retract": "Retract"},
    "google": {"restate": "RESTATE", "retract": "RETRACT"},
}
CONSENT_WORDS = {"granted": "Granted", "denied": "Denied"}


@dataclass(slots=True)  # not frozen: a run builds one per row, and frozen costs 4 times that
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
    order_id: str | None = None


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
    order_id: str | None = None


def order_id(conversion_id: int, lead_public_id: str) -> str:
    """Return a conversion's Order ID: unique to it, stable, and free of personal data.

    The random part of the lead's public id keeps two databases of one advertiser from
    sending the same Order ID for different conversions.
    """
    return f"CL{conversion_id}-{lead_public_id[:12]}"


def format_time(moment: datetime) -> str:
    """Write an aware time as UTC `yyyy-MM-dd HH:mm:ss`."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime; export times must be aware")
    # The first 19 characters of the ISO form: half the time strftime takes, per row.
    return moment.astimezone(UTC).isoformat(" ", "seconds")[:19]


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


def start_csv(stream: TextIO, header: Iterable[str]) -> Callable[[Iterable[Iterable[str]]], None]:
    """Write the time-zone row and the header to a text stream; return what writes the rows
    after them (CRLF line ends)."""
    stream.write(TIMEZONE_ROW + "\r\n")
    writer = csv.writer(stream, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    return writer.writerows


# Each column's cell, by column name; a file kind picks its columns from these.
CONVERSION_CELLS: dict[str, Callable[[ConversionRow], str]] = {
    "Microsoft Click ID": lambda row: row.msclkid or "",
    "Google Click ID": lambda row: row.gclid or "",
    "GBRAID": lambda row: row.gbraid or "",
    "WBRAID": lambda row: row.wbraid or "",
    "Order ID": lambda row: row.order_id or "",
    "Email": lambda row: row.email_sha256 or "",
    "Phone Number": lambda row: row.phone_sha256 or "",
    "Hashed Email Address": lambda row: row.email_sha256 or "",
    "Hashed Phone Number": lambda row: row.phone_sha256 or "",
    "Conversion Name": lambda row: spreadsheet_safe(row.conversion_name),
    "Conversion Time": lambda row: format_time(row.converted_at),
    "Conversion Value": lambda row: format_value(row.value),
    "Conversion Currency": lambda row: row.currency or "",
    "Ad User Data": lambda row: consent_word(row.ad_user_data),
    "Ad Personalization": lambda row: consent_word(row.ad_personalization),
}


def adjustment_cells(platform: str) -> dict[str, Callable[[AdjustmentRow], str]]:
    """Return each adjustment column's cell; a retraction carries no value or currency."""

    def value(row: AdjustmentRow) -> str:
        return format_value(row.value) if row.kind == "restate" else ""

    def currency(row: AdjustmentRow) -> str:
        return (row.currency or "") if row.kind == "restate" else ""

    # An adjustment names its conversion as the conversion's own row does.
    keys = ("Microsoft Click ID", "Google Click ID", "Order ID", "Conversion Name",
            "Conversion Time")  # fmt: skip
    return {
        **{column: CONVERSION_CELLS[column] for column in keys},
        "Adjustment Time": lambda row: format_time(row.adjusted_at),
        "Adjustment Type": lambda row: ADJUSTMENT_WORDS[platform][row.kind],
        "Adjustment Value": value, "Adjustment Currency": currency,
        "Adjusted Value": value, "Adjusted Value Currency": currency,
    }  # fmt: skip


@dataclass(frozen=True)
class FileKind:
    """One of the six upload files: its platform, what a row is, its columns."""

    name: str
    platform: str
    subject: str  # "conversion" or "adjustment"
    title: str
    header: tuple[str, ...]
    cells: dict[str, Callable]  # column name -> the row's cell
    optional_columns: tuple[str, ...] = ()  # written when a file needs them

    def columns(self, optional: bool) -> tuple[str, ...]:
        return self.header + (self.optional_columns if optional else ())

    def start(self, stream: TextIO, optional: bool = False) -> Callable[[Iterable], None]:
        """Write the file's first lines to a text stream; return what writes rows after them."""
        columns = self.columns(optional)
        cells = [self.cells[column] for column in columns]
        write_rows = start_csv(stream, columns)
        return lambda rows: write_rows([cell(row) for cell in cells] for row in rows)

    def write(self, stream: TextIO, rows: Iterable, optional: bool = False) -> None:
        """Write the whole file to a text stream, row by row."""
        self.start(stream, optional)(rows)

    def render(self, rows: Iterable, optional: bool = False) -> str:
        """Return the whole file as text."""
        buffer = io.StringIO()
        self.write(buffer, rows, optional)
        return buffer.getvalue()


FILE_KINDS = {kind.name: kind for kind in (
    FileKind("microsoft-conversions", "microsoft", "conversion", "Microsoft conversions",
             MICROSOFT_CONVERSIONS, CONVERSION_CELLS, MICROSOFT_HASHED),
    FileKind("microsoft-adjustments", "microsoft", "adjustment", "Microsoft adjustments",
             MICROSOFT_ADJUSTMENTS, adjustment_cells("microsoft")),
    FileKind("google-clicks", "google", "conversion", "Google click conversions",
             GOOGLE_CLICKS, CONVERSION_CELLS, GOOGLE_BRAIDS),
    FileKind("google-enhanced", "google", "conversion",
             "Google enhanced conversions for leads", GOOGLE_ENHANCED, CONVERSION_CELLS),
    FileKind("google-adjustments", "google", "adjustment", "Google adjustments",
             GOOGLE_ADJUSTMENTS, adjustment_cells("google")),
    FileKind("google-order-adjustments", "google", "adjustment",
             "Google adjustments by Order ID", GOOGLE_ORDER_ADJUSTMENTS,
             adjustment_cells("google")),
)}  # fmt: skip
