"""The six upload files against golden files, read back by a parser of the tests' own."""

import csv
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import iso4217
import pytest

from export.formats import FILE_KINDS, AdjustmentRow, ConversionRow, format_value
from tests.conftest import require

GOLDEN = Path(__file__).parent / "golden"
REFERENCE = Path(__file__).parent / "reference"
WHEN = datetime(2026, 10, 1, 14, 5, tzinfo=UTC)
STOCKHOLM = timezone(timedelta(hours=2))
MS = "f894f652ea334e739002f7167ab8f8e3"
GCLID = "-Cj0KCQjw_AbC-123"
EMAIL = "06a240d11cc201676da976f7b49341181fd180da37cbe40a77432c0a366c80c3"
PHONE = "c59475d96e9f01d7d18d06cfad84dd02333207f02c0c2c5663ef2782cda0390e"

CONVERSIONS = [
    ConversionRow("Closed Won", WHEN, Decimal("1234.500"), "USD", msclkid=MS, gclid=GCLID,
                  email_sha256=EMAIL, phone_sha256=PHONE, ad_user_data="granted",
                  ad_personalization="denied", order_id="CL1-4f3c2a9b8e7d"),
    ConversionRow('Won, "big" deal', datetime(2026, 10, 2, 1, 0, tzinfo=STOCKHOLM), None, None,
                  msclkid=MS.upper(), wbraid="CjkK-x_Y", email_sha256=EMAIL,
                  order_id="CL2-4f3c2a9b8e7d"),
]  # fmt: skip
ADJUSTMENTS = [
    AdjustmentRow("Closed Won", WHEN, "restate", WHEN + timedelta(days=2), Decimal("900"), "EUR",
                  msclkid=MS, gclid=GCLID, order_id="CL1-4f3c2a9b8e7d"),
    AdjustmentRow("Closed Won", WHEN, "retract", WHEN + timedelta(days=3), Decimal("900"), "EUR",
                  msclkid=MS, gclid=GCLID, order_id="CL1-4f3c2a9b8e7d"),
]  # fmt: skip


def render(kind: str, rows, optional: bool = False) -> str:
    return FILE_KINDS[kind].render(rows, optional)


FILES = {
    "microsoft_conversions.csv": lambda: render("microsoft-conversions", CONVERSIONS),
    "microsoft_conversions_hashed.csv": lambda: render("microsoft-conversions", CONVERSIONS, True),
    "microsoft_adjustments.csv": lambda: render("microsoft-adjustments", ADJUSTMENTS),
    "google_clicks.csv": lambda: render("google-clicks", CONVERSIONS[:1] * 2),
    "google_clicks_braids.csv": lambda: render("google-clicks", CONVERSIONS, True),
    "google_enhanced.csv": lambda: render("google-enhanced", CONVERSIONS),
    "google_adjustments.csv": lambda: render("google-adjustments", ADJUSTMENTS),
    "google_order_adjustments.csv": lambda: render("google-order-adjustments", ADJUSTMENTS),
}


@pytest.mark.parametrize("name", FILES)
def test_files_match_their_golden_bytes(name):
    produced = FILES[name]().encode("utf-8")
    assert produced == (GOLDEN / name).read_bytes()
    assert not produced.startswith(b"\xef\xbb\xbf")


# --- A reader of our own, written from the platforms' rules, not from the generator. ---

TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
VALUE = re.compile(r"\d{1,12}(\.\d{1,3})?")
SHA256 = re.compile(r"[0-9a-f]{64}")
HEADERS = {
    "microsoft_conversions": ["Microsoft Click ID", "Conversion Name", "Conversion Time",
                              "Conversion Value", "Conversion Currency"],
    "microsoft_adjustments": ["Microsoft Click ID", "Conversion Name", "Conversion Time",
                              "Adjustment Value", "Adjustment Currency", "Adjustment Type",
                              "Adjustment Time"],
    "google_clicks": ["Google Click ID", "Conversion Name", "Conversion Time", "Conversion Value",
                      "Conversion Currency", "Ad User Data", "Ad Personalization"],
    "google_enhanced": ["Email", "Phone Number", "Conversion Name", "Conversion Time",
                        "Conversion Value", "Conversion Currency", "Ad User Data",
                        "Ad Personalization", "Google Click ID", "Order ID"],
    "google_adjustments": ["Google Click ID", "Conversion Name", "Conversion Time",
                           "Adjustment Time", "Adjustment Type", "Adjusted Value",
                           "Adjusted Value Currency"],
    "google_order_adjustments": ["Order ID", "Conversion Name", "Adjustment Time",
                                 "Adjustment Type", "Adjusted Value", "Adjusted Value Currency"],
}  # fmt: skip


def currencies() -> set[str]:
    lines = (REFERENCE / "microsoft_conversion_goal_currency_codes.txt").read_text().split()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


# Google takes ISO 4217 codes: the tests read the list from the package, not from the app.
ISO_CODES = {currency.code for currency in iso4217.Currency if currency.exponent is not None}


def timezone_names() -> set[str]:
    lines = (REFERENCE / "microsoft_timezone_names.txt").read_text().split()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def read_upload(text: str, kind: str) -> list[dict]:
    """Parse an upload file and check it the way the platform would."""
    lines = text.split("\r\n")
    zone = lines[0].removeprefix("Parameters:TimeZone=")
    assert zone != lines[0] and (re.fullmatch(r"[+-](0\d|1[0-4])[0-5]\d", zone)
                                 or zone in timezone_names()), lines[0]  # fmt: skip
    assert lines[-1] == ""
    rows = list(csv.reader(lines[1:-1]))
    header = rows[0]
    expected = HEADERS[kind]
    assert header[: len(expected)] == expected
    extra = header[len(expected) :]
    assert extra in ([], ["Hashed Email Address", "Hashed Phone Number"], ["GBRAID", "WBRAID"])
    records = [dict(zip(header, row, strict=True)) for row in rows[1:]]
    for record in records:
        for column, cell in record.items():
            if "Time" in column:
                assert TIME.fullmatch(cell), (column, cell)
            if column in ("Conversion Value", "Adjustment Value", "Adjusted Value") and cell:
                assert VALUE.fullmatch(cell) and Decimal(cell) <= Decimal("999999999999")
            if "Currency" in column and cell:
                assert cell in (currencies() if kind.startswith("microsoft") else ISO_CODES), cell
            if column in ("Email", "Phone Number", *HEADERS_HASHED) and cell:
                assert SHA256.fullmatch(cell), cell
            if column in ("Ad User Data", "Ad Personalization"):
                assert cell in ("Granted", "Denied", "")
        if kind == "google_clicks":
            keys = [record.get(c, "") for c in ("Google Click ID", "GBRAID", "WBRAID")]
            assert sum(bool(k) for k in keys) == 1, keys
        if kind.startswith("microsoft"):
            hashed = record.get("Hashed Email Address") or record.get("Hashed Phone Number")
            assert re.fullmatch(r"[0-9A-Fa-f]{32}", record["Microsoft Click ID"]) or hashed
        if kind == "microsoft_adjustments":
            assert record["Adjustment Type"] in ("Restate", "Retract")
            if record["Adjustment Type"] == "Retract":
                assert record["Adjustment Value"] == record["Adjustment Currency"] == ""
        if kind in ("google_adjustments", "google_order_adjustments"):
            assert record["Adjustment Type"] in ("RESTATE", "RETRACT")
        if "Order ID" in record:
            assert re.fullmatch(r"CL\d+-[0-9a-z-]+", record["Order ID"]), record["Order ID"]
        if kind == "google_enhanced":
            assert record["Email"] or record["Phone Number"]
            assert not record["Google Click ID"] or re.fullmatch(
                r"[\w-]+", record["Google Click ID"]
            )
    return records


HEADERS_HASHED = ("Hashed Email Address", "Hashed Phone Number")


@pytest.mark.parametrize("name", FILES)
def test_files_read_back_under_the_platform_rules(name):
    kind = re.sub(r"_(hashed|braids)$", "", name.removesuffix(".csv"))
    records = read_upload(FILES[name](), kind)
    assert len(records) == 2


def test_ids_and_times_are_written_untouched_and_in_utc():
    records = read_upload(render("google-clicks", CONVERSIONS, True), "google_clicks")
    assert records[0]["Google Click ID"] == GCLID
    assert records[1]["WBRAID"] == "CjkK-x_Y"
    assert records[1]["Conversion Time"] == "2026-10-01 23:00:00"
    assert records[1]["Conversion Name"] == 'Won, "big" deal'
    ms = read_upload(render("microsoft-conversions", CONVERSIONS), "microsoft_conversions")
    assert ms[1]["Microsoft Click ID"] == MS.upper()


@pytest.mark.parametrize(
    ("value", "text"),
    [(Decimal("0"), "0"), (Decimal("1234.5"), "1234.5"), (Decimal("1234.500"), "1234.5"),
     (Decimal("0.001"), "0.001"), (Decimal("999999999999"), "999999999999"),
     (Decimal("1E+3"), "1000"), (Decimal("12.3456"), "12.346"), (None, "")],
)  # fmt: skip
def test_values_have_a_period_and_at_most_three_decimals(value, text):
    assert format_value(value) == text


GOOD = "Parameters:TimeZone=+0000\r\n" + ",".join(HEADERS["microsoft_conversions"]) + "\r\n"


@pytest.mark.parametrize(
    "text",
    [
        GOOD.replace("+0000", "+05:00"),
        GOOD.replace("+0000", "Atlantis"),
        "\ufeff" + GOOD,
        GOOD + f"{MS},Won,2026-10-01T14:05:00,1,USD\r\n",
        GOOD + f'{MS},Won,2026-10-01 14:05:00,"1,5",USD\r\n',
        GOOD + f"{MS},Won,2026-10-01 14:05:00,1,XXX\r\n",
        GOOD + "not-an-msclkid,Won,2026-10-01 14:05:00,1,USD\r\n",
    ],
)
def test_the_reader_refuses_what_the_platform_would(text):
    with pytest.raises(AssertionError):
        read_upload(text, "microsoft_conversions")


def test_the_reader_takes_microsoft_time_zone_names():
    text = GOOD.replace("+0000", "AmsterdamBerlinBernRomeStockholmVienna")
    assert read_upload(text + f"{MS},Won,2026-10-01 14:05:00,1,USD\r\n", "microsoft_conversions")


@pytest.mark.parametrize("name", sorted(p.name for p in REFERENCE.iterdir() if p.suffix != ".md"))
def test_the_reference_copies_match_the_contract(name):
    contract = Path(__file__).resolve().parents[2] / "shared/reference/data" / name
    require(contract.exists(), f"the product contract is not beside this clone: {contract}")
    assert (REFERENCE / name).read_bytes() == contract.read_bytes()
