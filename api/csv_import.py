"""Conversions from a CSV file: every row checked and tried, then all applied or none.

The staff page and `flask conversions import` share this. Columns are named in the
header with the API's field names, in any order; a row is tried exactly as the API would
take it, so the preview says what applying will do, row by row.
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime

from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from api.matching import LEAD_KEYS
from api.schemas import ConversionBody, read_external_id
from api.upsert import put_conversion
from database import db
from leads.models import Conversion

COLUMNS = (*LEAD_KEYS, "goal", "converted_at", "value", "currency", "external_id")
MAX_ROWS = 5_000


class FileProblem(ValueError):
    """The file as a whole cannot be read: no row is looked at."""


@dataclass
class Row:
    number: int  # the line in the file, the header being line 1
    cells: dict[str, str]
    problems: list[str] = field(default_factory=list)
    conversion: Conversion | None = None
    outcome: str = ""  # "new", "unchanged", "new value", or "same as row N"


@dataclass
class Result:
    rows: list[Row]
    applied: bool = False

    @property
    def problems(self) -> list[Row]:
        return [row for row in self.rows if row.problems]

    def count(self, outcome: str) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)


def read_rows(text: str) -> list[Row]:
    """Return the file's rows by column name; FileProblem when the header is unusable."""
    text = text.removeprefix("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)  # spreadsheets in many locales write ";"
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header = [name.strip().lower() for name in reader.fieldnames or []]
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        raise FileProblem(f"Unknown columns: {', '.join(unknown)}. Columns are named "
                          f"{', '.join(COLUMNS)}.")  # fmt: skip
    missing = [name for name in ("goal", "converted_at") if name not in header]
    if missing or not set(header) & set(LEAD_KEYS):
        raise FileProblem("The header needs goal, converted_at and one of "
                          f"{', '.join(LEAD_KEYS)}.")  # fmt: skip
    if len(set(header)) != len(header):
        raise FileProblem("A column is named twice in the header.")
    rows = []
    try:
        for cells in reader:
            if len(rows) == MAX_ROWS:
                raise FileProblem(f"At most {MAX_ROWS:,} rows per file: split it.")
            values = [cells.get(name) for name in reader.fieldnames]
            if None in cells or any(value is None for value in values):
                raise FileProblem(f"Line {reader.line_num} has a different number of cells "
                                  "than the header.")  # fmt: skip
            row = dict(zip(header, (value.strip() for value in values), strict=True))
            if any(row.values()):
                rows.append(Row(reader.line_num, row))
    except csv.Error as error:
        raise FileProblem(f"Line {reader.line_num} cannot be read: {error}.") from None
    if not rows:
        raise FileProblem("The file has no rows under its header.")
    return rows


def import_conversions(text: str, timezone: str, default_country: str, now: datetime,
                       actor_id: int | None, apply: bool) -> Result:  # fmt: skip
    """Try every row as the API would; commit them all when `apply` and no row has a
    problem, else roll every row back. FileProblem for an unreadable file."""
    rows = read_rows(text)
    seen: dict[str, Row] = {}
    try:
        for row in rows:
            _try(row, seen, timezone, default_country, now, actor_id)
        result = Result(rows)
        if apply and not result.problems:
            db.session.commit()
            result.applied = True
        else:
            db.session.rollback()
    except Exception:
        db.session.rollback()
        raise
    return result


def _try(row: Row, seen: dict, timezone: str, default_country: str, now: datetime,
         actor_id: int | None) -> None:  # fmt: skip
    cells = {name: value for name, value in row.cells.items() if value}
    external_id = cells.pop("external_id", None)
    try:
        if external_id is not None:
            external_id = read_external_id(external_id)
        data = ConversionBody(timezone=timezone).load(cells)
    except ValidationError as error:
        row.problems = _messages(error.messages)
        return
    if external_id in seen:
        first = seen[external_id]
        if first.cells != row.cells:
            row.problems = [f"external_id {external_id} is also on line {first.number}, "
                            "with other values: one conversion, one row."]  # fmt: skip
        else:
            row.outcome = f"same as line {first.number}"
        return
    try:
        outcome = put_conversion(external_id, data, now, actor_id, default_country)
    except ValidationError as error:
        row.problems = _messages(error.messages)
        return
    except HTTPException as error:  # no such lead (404), another conversion's id (409)
        row.problems = [error.description]
        return
    if external_id is not None:
        seen[external_id] = row
    row.conversion = outcome.conversion
    row.outcome = "new" if outcome.created else "new value" if outcome.changed else "unchanged"


def _messages(messages) -> list[str]:
    if isinstance(messages, dict):
        return [f"{'' if name == '_schema' else name + ': '}{text}"
                for name, texts in messages.items() for text in _messages(texts)]  # fmt: skip
    return [str(text) for text in messages]
