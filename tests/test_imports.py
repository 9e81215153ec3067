"""Conversions from a CSV file: preview, all rows or none, the same file twice changes nothing,
on the staff page and with `flask conversions import`."""

import html
import io
import re
from datetime import UTC, datetime, timedelta

import pytest

from database import db
from leads.models import Conversion, Lead
from staff.models import AuditEvent

NOW = datetime.now(UTC).replace(microsecond=0)
DAY = (NOW - timedelta(days=1)).strftime("%Y-%m-%d")


@pytest.fixture
def crm(app, seed):
    """Two goals and two leads posted through intake, three days ago."""
    for name in ("Signed contract", "Booked meeting"):
        seed.goal(name, microsoft_hashed=True, google_enhanced=True,
                  created_at=NOW - timedelta(days=30))  # fmt: skip
    client = app.test_client()
    for fields in ({"email": "ada@example.com", "name": "Ada"},
                   {"email": "bob@example.com", "phone": "+46701234567", "name": "Bob"}):  # fmt: skip
        assert client.post("/leads", json=fields).status_code == 201
    with app.app_context():
        for lead in db.session.scalars(db.select(Lead)):
            lead.created_at = NOW - timedelta(days=3)
        db.session.commit()
    return app


GOOD = (
    "currency;value;converted_at;email;goal;external_id\n"
    f"EUR;1500;{DAY} 15:30;ada@example.com;Signed contract;deal-1\n"
    f"EUR;1500;{DAY} 15:30;ada@example.com;Signed contract;deal-1\n"  # the same deal twice
    f";;{DAY}T09:00:00Z;BOB@example.com;Booked meeting;\n"
)


def conversions(app) -> list[tuple]:
    with app.app_context():
        return [(c.lead.name, c.goal.name, c.converted_at, c.current_value, c.current_currency,
                 c.external_id) for c in db.session.scalars(db.select(Conversion)
                                                            .order_by(Conversion.id))]  # fmt: skip


def text_of(response) -> str:
    """Return what a person reads on the page: no tags, entities decoded, spaces collapsed."""
    page = html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))
    return re.sub(r"\s+", " ", page)


def upload(staff, text: str, path="/staff/conversions/import/preview"):
    return staff.post(path, {"file": (io.BytesIO(text.encode()), "deals.csv")},
                      content_type="multipart/form-data")  # fmt: skip


def test_a_file_is_previewed_then_recorded_once_in_the_staff_members_zone(crm, staff):
    staff.as_role("sales", timezone="Europe/Stockholm")
    preview = upload(staff, GOOD)
    assert preview.status_code == 200
    assert "3 rows: 2 new, 0 with a new value, 0 unchanged." in text_of(preview)
    assert "same as line 2" in text_of(preview)
    assert conversions(crm) == []  # nothing recorded by a preview

    page = preview.get_data(as_text=True)
    csv = re.search(r'<textarea name="csv" hidden>(.*?)</textarea>', page, re.S).group(1)
    applied = staff.post("/staff/conversions/import/apply", {"csv": html.unescape(csv)})
    assert applied.status_code == 302
    page = text_of(staff.client.get(applied.headers["Location"]))
    assert "Recorded 3 rows: 2 new, 0 with a new value, 0 unchanged." in page
    stockholm = datetime.fromisoformat(f"{DAY}T14:30:00+00:00")  # 15:30 in Stockholm (CET)
    assert conversions(crm) == [
        ("Ada", "Signed contract", stockholm, 1500, "EUR", "deal-1"),
        (
            "Bob",
            "Booked meeting",
            datetime.fromisoformat(f"{DAY}T09:00:00+00:00"),
            100,
            "USD",
            None,
        ),
    ]
    again = text_of(upload(staff, GOOD))
    assert "3 rows: 0 new, 0 with a new value, 2 unchanged." in again
    with crm.app_context():
        actions = db.session.scalars(db.select(AuditEvent.action)).all()
    assert actions.count("conversion.create") == 2


def test_one_bad_row_blocks_the_whole_file_and_says_which_lines(crm, staff):
    staff.as_role("sales")
    text = (
        "email,goal,converted_at,value,currency,external_id\n"
        f"ada@example.com,Signed contract,{DAY}T10:00:00Z,100,EUR,deal-1\n"
        f"nobody@example.com,Signed contract,{DAY}T10:00:00Z,100,EUR,deal-2\n"
        f"bob@example.com,No such goal,{DAY}T10:00:00Z,,,deal-3\n"
        f"bob@example.com,Signed contract,yesterday,12;50,EUR,deal-4\n"
        f"ada@example.com,Signed contract,{DAY}T11:00:00Z,100,EUR,deal-1\n"
    )
    preview = upload(staff, text)
    page = text_of(preview)
    assert preview.status_code == 422
    assert "4 of 5 rows have a problem: nothing is recorded" in page
    assert "3 nobody@example.com Signed contract" in page and "No lead has this email." in page
    assert "No goal is named 'No such goal'" in page
    assert "converted_at: Give an ISO 8601 time" in page
    assert "external_id deal-1 is also on line 2, with other values" in page
    assert "Record all" not in page
    csv_field = {"csv": text}
    assert staff.post("/staff/conversions/import/apply", csv_field).status_code == 422
    assert conversions(crm) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("email,goal\nada@example.com,Signed contract\n", "The header needs goal, converted_at"),
        ("email,goal,converted_at,colour\n", "Unknown columns: colour."),
        ("email,goal,converted_at\n", "The file has no rows under its header."),
        (f"email,goal,converted_at\nada@example.com,Signed contract,{DAY},x\n",
         "Line 2 has a different number of cells"),
        ("email,email,goal,converted_at\n", "A column is named twice"),
    ],
)  # fmt: skip
def test_an_unreadable_file_is_refused_as_a_whole(crm, staff, text, message):
    staff.as_role("sales")
    refused = upload(staff, text)
    assert refused.status_code == 422
    assert message in refused.get_data(as_text=True)


def test_a_file_that_is_not_utf8_is_refused(crm, staff):
    staff.as_role("sales")
    refused = staff.post("/staff/conversions/import/preview",
                         {"file": (io.BytesIO("é".encode("latin-1")), "deals.csv")},
                         content_type="multipart/form-data")  # fmt: skip
    assert refused.status_code == 422
    assert "Choose a CSV file saved as UTF-8." in refused.get_data(as_text=True)


def test_viewers_cannot_import(crm, staff):
    staff.as_role("viewer")
    assert staff.client.get("/staff/conversions/import/").status_code == 403
    assert upload(staff, GOOD).status_code == 403


def test_the_command_line_shares_the_import(crm, runner, tmp_path):
    path = tmp_path / "deals.csv"
    path.write_text("\ufeff" + GOOD, encoding="utf-8")
    dry = runner.invoke(args=["conversions", "import", str(path), "--dry-run",
                              "--timezone", "Europe/Stockholm"])  # fmt: skip
    assert dry.exit_code == 0, dry.output
    assert dry.output == "Would record 3 rows: 2 new, 0 new value, 0 unchanged.\n"
    assert conversions(crm) == []
    done = runner.invoke(args=["conversions", "import", str(path), "--timezone",
                               "Europe/Stockholm"])  # fmt: skip
    assert done.output == "Recorded 3 rows: 2 new, 0 new value, 0 unchanged.\n"
    assert len(conversions(crm)) == 2
    again = runner.invoke(args=["conversions", "import", str(path), "--timezone",
                                "Europe/Stockholm"])  # fmt: skip
    assert again.output.endswith("3 rows: 0 new, 0 new value, 2 unchanged.\n")
    restated = tmp_path / "restated.csv"
    restated.write_text(GOOD.replace("EUR;1500", "EUR;1750"), encoding="utf-8")
    changed = runner.invoke(args=["conversions", "import", str(restated), "--timezone",
                                  "Europe/Stockholm"])  # fmt: skip
    assert changed.output == "Recorded 3 rows: 0 new, 1 new value, 1 unchanged.\n"
    assert conversions(crm)[0][3] == 1750


def test_the_command_line_names_the_bad_lines_and_records_nothing(crm, runner, tmp_path):
    path = tmp_path / "deals.csv"
    path.write_text(f"email,goal,converted_at\nada@example.com,Signed contract,{DAY}\n"
                    f"zed@example.com,Signed contract,{DAY}T10:00:00Z\n")  # fmt: skip
    result = runner.invoke(args=["conversions", "import", str(path)])
    assert result.exit_code == 1
    assert "line 3: No lead has this email." in result.output
    assert "1 rows have problems: nothing was recorded." in result.output
    assert conversions(crm) == []
