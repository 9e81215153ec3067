"""The conversions API (SPEC §5): tokens, lead matching, every answer code, idempotency."""

import json
import threading
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from api.models import ApiToken
from database import db
from export.run import run_export
from leads.models import Adjustment, Conversion, Lead
from staff.models import AuditEvent
from tests.conftest import LiveServer, make_app

MSCLKID = "f894f652ea334e739002f7167ab8f8e3"
GCLID = "Cj0KCQjw_gclid-1"
GBRAID = "0AAAAAgbraid1"
WBRAID = "CjkKwbraid-2"
NOW = datetime.now(UTC).replace(microsecond=0)


class Api:
    """Tokens, leads posted through intake, and calls with a bearer token."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self.token = self.issue("HubSpot", ["conversions", "leads:read"])

    def issue(self, name: str, scopes: list[str]) -> str:
        with self.app.app_context():
            row, token = ApiToken.issue(name, scopes, datetime.now(UTC), None)
            db.session.add(row)
            db.session.commit()
        return token

    def lead(self, days_ago: float = 3, **fields) -> str:
        """Post a lead through intake; return the id intake answered."""
        answer = self.client.post("/leads", json=fields)
        assert answer.status_code == 201, answer.get_json()
        with self.app.app_context():
            lead = db.session.scalar(db.select(Lead).where(Lead.public_id == answer.json["id"]))
            lead.created_at = NOW - timedelta(days=days_ago)
            db.session.commit()
        return answer.json["id"]

    def goal(self, name="Signed contract", **fields):
        """Set up a goal on both platforms, taking hashed emails and phones too."""
        from tests.conftest import Seed

        hashed = {"microsoft_hashed": True, "google_enhanced": True,
                  "created_at": NOW - timedelta(days=30)}  # fmt: skip
        return Seed(self.app).goal(name, **{**hashed, **fields})

    def put(self, external_id: str, body: dict, token: str | None = None, **headers):
        token = self.token if token is None else token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.client.put(f"/api/v1/conversions/{external_id}", json=body, headers=headers)

    def call(self, method: str, path: str, token: str | None = None):
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return self.client.open(path, method=method, headers=headers)

    def count(self, model) -> int:
        with self.app.app_context():
            return db.session.scalar(db.select(db.func.count()).select_from(model))


@pytest.fixture
def api(app):
    return Api(app)


def body(**fields) -> dict:
    return {"goal": "Signed contract", "converted_at": (NOW - timedelta(days=1)).isoformat(),
            **fields}  # fmt: skip


@pytest.mark.parametrize(
    ("lead", "key"),
    [
        ({"email": "ada@example.com"}, {"email": "ada@example.com"}),
        ({"email": "ada@example.com"}, {"email": " ADA@Example.COM "}),
        ({"email": "jane.doe@gmail.com"}, {"email": "JaneDoe+crm@gmail.com"}),
        ({"email": "jane.doe+x@googlemail.com"}, {"email": "janedoe@googlemail.com"}),
        ({"phone": "+14255550101"}, {"phone": "(425) 555-0101"}),
        ({"phone": "(425) 555-0101"}, {"phone": "+1 425 555 0101"}),
        ({"msclkid": MSCLKID}, {"msclkid": MSCLKID}),
        ({"gclid": GCLID}, {"gclid": GCLID}),
        ({"gbraid": GBRAID}, {"gbraid": GBRAID}),
        ({"wbraid": WBRAID}, {"wbraid": WBRAID}),
    ],
)
def test_a_conversion_finds_its_lead_by_any_key(api, lead, key):
    api.goal()
    fields = {"email": "someone@example.com", **lead}
    lead_id = api.lead(**fields)
    answer = api.put("deal-1", body(**key))
    assert answer.status_code == 201, answer.json
    assert answer.json["lead_id"] == lead_id
    assert answer.json["external_id"] == "deal-1"
    assert answer.json["value"] == "100.00" and answer.json["currency"] == "USD"  # goal defaults
    assert set(answer.json["platforms"]) == {"microsoft", "google"}


def test_a_conversion_finds_its_lead_by_the_id_intake_answered(api):
    api.goal()
    lead_id = api.lead(email="ada@example.com")
    answer = api.put("deal-1", body(lead_id=lead_id, value="1250.50", currency="EUR"))
    assert answer.status_code == 201
    assert (answer.json["value"], answer.json["currency"]) == ("1250.50", "EUR")


@pytest.mark.parametrize(
    "key",
    [{"email": "ada+crm@example.com"}, {"email": "nobody@example.com"}, {"phone": "12"},
     {"lead_id": "no-such-lead"}, {"msclkid": MSCLKID.upper()}, {"gclid": "other"}],
)  # fmt: skip
def test_no_matching_lead_is_404_and_stores_nothing(api, key):
    api.goal()
    api.lead(email="ada@example.com", msclkid=MSCLKID, gclid=GCLID)
    answer = api.put("deal-1", body(**key))
    assert answer.status_code == 404
    assert answer.json["code"] == 404 and "No lead has this" in answer.json["message"]
    assert api.count(Conversion) == 0


def test_of_leads_sharing_an_email_the_latest_before_the_conversion_is_meant(api):
    api.goal()
    older = api.lead(days_ago=10, email="ada@example.com", name="First visit")
    newer = api.lead(days_ago=2, email="ada@example.com", name="Second visit")
    api.lead(days_ago=0.1, email="ada@example.com", name="After the sale")
    at_5_days = (NOW - timedelta(days=5)).isoformat()
    assert (
        api.put("a", body(email="ada@example.com", converted_at=at_5_days)).json["lead_id"] == older
    )
    assert api.put("b", body(email="ada@example.com")).json["lead_id"] == newer
    too_early = api.put("c", body(email="ada@example.com",
                                  converted_at=(NOW - timedelta(days=20)).isoformat()))  # fmt: skip
    assert too_early.status_code == 422
    assert too_early.json["errors"]["converted_at"] == [
        "No lead with this email had arrived by then."
    ]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"converted_at": "2026-11-28T10:00:00"}, "converted_at"),
        ({"converted_at": "yesterday"}, "converted_at"),
        ({"converted_at": None}, "converted_at"),
        ({"goal": "No such goal"}, "goal"),
        ({"value": "12,50"}, "value"),
        ({"value": "-1"}, "value"),
        ({"currency": "XXX"}, "currency"),
        ({"email": "ada@example.com", "phone": "+14255550101"}, "lead"),
        ({"colour": "blue"}, "colour"),
        ({"email": "ada\n@example.com"}, "email"),
    ],
)
def test_invalid_fields_are_422_per_field(api, fields, field):
    api.goal()
    api.lead(email="ada@example.com")
    answer = api.put("deal-1", {**body(email="ada@example.com"), **fields})
    assert answer.status_code == 422
    assert set(answer.json) == {"code", "status", "message", "errors"}
    assert field in answer.json["errors"]
    assert api.count(Conversion) == 0


def test_a_time_without_offset_is_refused_with_how_to_write_it(api):
    api.goal()
    api.lead(email="ada@example.com")
    answer = api.put("d", body(email="ada@example.com", converted_at="2026-11-28 10:00"))
    assert answer.json["errors"]["converted_at"] == [
        "Give the time with its offset, such as 2026-11-30T14:05:00+01:00 or 2026-11-30T13:05:00Z."
    ]


def test_the_same_call_again_changes_nothing_and_a_new_value_updates_it(api):
    api.goal()
    api.lead(email="ada@example.com")
    first = api.put("deal-1", body(email="ada@example.com", value="100", currency="USD"))
    again = api.put("deal-1", body(email="ada@example.com", value="100", currency="USD"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json
    changed = api.put("deal-1", body(email="ada@example.com", value="150", currency="USD"))
    assert changed.status_code == 200 and changed.json["value"] == "150.00"
    assert (api.count(Conversion), api.count(Adjustment)) == (1, 0)  # before export: updated
    with api.app.app_context():
        actions = db.session.scalars(db.select(AuditEvent.action).order_by(AuditEvent.id)).all()
        names = {event.token.name for event in db.session.scalars(db.select(AuditEvent))}
    assert actions == ["conversion.create", "conversion.update"] and names == {"HubSpot"}


def test_after_export_a_new_value_is_one_restatement_and_delete_retracts(api):
    api.goal()
    api.lead(days_ago=5, email="ada@example.com", msclkid=MSCLKID)
    api.put("deal-1", body(email="ada@example.com", converted_at=(NOW - timedelta(days=3))
                           .isoformat()))  # fmt: skip
    with api.app.app_context():
        run_export(api.app.config["EXPORT_DIR"])
    exported = api.call("GET", "/api/v1/conversions/deal-1").json
    assert exported["platforms"]["microsoft"]["state"] == "written", exported["platforms"]
    restated = api.put("deal-1", body(email="ada@example.com", value="175", currency="USD",
                                      converted_at=(NOW - timedelta(days=3)).isoformat()))  # fmt: skip
    assert restated.status_code == 200 and restated.json["value"] == "175.00"
    assert [a["kind"] for a in restated.json["adjustments"]] == ["restate"]
    assert api.count(Adjustment) == 1
    assert api.call("DELETE", "/api/v1/conversions/deal-1").json["state"] == "retracted"
    again = api.call("DELETE", "/api/v1/conversions/deal-1")
    assert again.status_code == 200 and api.count(Adjustment) == 2
    read = api.call("GET", "/api/v1/conversions/deal-1")
    assert read.status_code == 200 and read.json["state"] == "retracted"
    after = api.put("deal-1", body(email="ada@example.com", converted_at=(NOW - timedelta(days=3))
                                   .isoformat()))  # fmt: skip
    assert after.status_code == 409 and "retracted" in after.json["message"]


@pytest.mark.parametrize(
    "change",
    [{"goal": "Booked meeting"}, {"converted_at": (NOW - timedelta(hours=5)).isoformat()},
     {"email": "bob@example.com"}],
)  # fmt: skip
def test_another_lead_goal_or_time_for_an_existing_id_is_409(api, change):
    api.goal()
    api.goal("Booked meeting")
    api.lead(email="ada@example.com")
    api.lead(email="bob@example.com")
    assert api.put("deal-1", body(email="ada@example.com")).status_code == 201
    conflict = api.put("deal-1", {**body(email="ada@example.com"), **change})
    assert conflict.status_code == 409
    assert "retract it" in conflict.json["message"]
    assert api.count(Conversion) == 1


def test_a_conversion_no_platform_would_take_is_422_and_one_some_would_says_which(api):
    api.goal("Microsoft only", google_action_name=None, microsoft_hashed=False)
    api.goal(microsoft_hashed=False)
    api.lead(email="ada@example.com", gclid=GCLID)  # no Microsoft click ID, no hashing goal
    refused = api.put("deal-1", body(email="ada@example.com", goal="Microsoft only"))
    assert refused.status_code == 422
    assert refused.json["errors"]["platforms"] == [
        "No platform would take it: Microsoft: no valid Microsoft click ID."
    ]
    stored = api.put("deal-2", body(email="ada@example.com"))
    assert stored.status_code == 201
    assert stored.json["platforms"]["microsoft"]["state"] == "excluded"
    assert stored.json["platforms"]["google"]["state"] == "out"
    assert api.count(Conversion) == 1


@pytest.mark.parametrize(
    ("token", "status"),
    [(None, 401), ("", 401), ("clk_not-a-token", 401), ("revoked", 401), ("leads-only", 403)],
)
def test_tokens_missing_wrong_revoked_or_without_the_scope_are_refused(api, token, status):
    api.goal()
    api.lead(email="ada@example.com")
    if token == "revoked":
        token = api.issue("Old", ["conversions"])
        with api.app.app_context():
            row = db.session.scalar(db.select(ApiToken).where(ApiToken.name == "Old"))
            row.revoked_at = datetime.now(UTC)
            db.session.commit()
    elif token == "leads-only":
        token = api.issue("Reader", ["leads:read"])
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    answer = api.client.put("/api/v1/conversions/x", json=body(email="ada@example.com"),
                            headers=headers)  # fmt: skip
    assert answer.status_code == status
    assert answer.json["code"] == status
    if status == 401:
        assert answer.headers["WWW-Authenticate"].lower().startswith("bearer")
    assert api.count(Conversion) == 0


def test_the_api_sets_no_cookie_needs_no_csrf_and_sends_no_cors(api):
    api.goal()
    api.lead(email="ada@example.com")
    answer = api.put("deal-1", body(email="ada@example.com"), Origin="https://crm.example")
    assert answer.status_code == 201
    assert "Set-Cookie" not in answer.headers
    assert "Access-Control-Allow-Origin" not in answer.headers
    preflight = api.client.options("/api/v1/conversions/deal-1", headers={
        "Origin": "https://crm.example", "Access-Control-Request-Method": "PUT"})  # fmt: skip
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_leads_are_listed_by_email_phone_or_click_id_with_the_read_scope(api):
    ada = api.lead(email="Ada@Example.com", phone="+14255550101", msclkid=MSCLKID, name="Ada")
    api.lead(email="bob@example.com", name="Bob")
    for query in ("email=ada@example.com", "phone=(425)%20555-0101", f"click_id={MSCLKID}"):
        listed = api.call("GET", f"/api/v1/leads?{query}")
        assert listed.status_code == 200
        assert [lead["id"] for lead in listed.json["leads"]] == [ada]
    assert listed.json["leads"][0]["click_ids"] == {"msclkid": MSCLKID}
    writer = api.issue("Writer", ["conversions"])
    assert api.call("GET", "/api/v1/leads?email=ada@example.com", writer).status_code == 403
    assert api.call("GET", "/api/v1/leads?name=Ada").status_code == 400


def test_calls_are_rate_limited_per_token(database_url, tmp_path):
    app = make_app(database_url, tmp_path, API_RATE_LIMIT="3 per minute")
    api = Api(app)
    other = api.issue("Other", ["conversions"])
    answers = [api.call("GET", "/api/v1/conversions/x").status_code for _ in range(4)]
    assert answers == [404, 404, 404, 429]
    limited = api.call("GET", "/api/v1/conversions/x")
    assert limited.json["code"] == 429 and "Retry-After" in limited.headers
    assert api.call("GET", "/api/v1/conversions/x", other).status_code == 404


def _put_over_http(port: int, token: str, payload: dict) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/conversions/deal-16", method="PUT",
        data=json.dumps(payload).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def _at_once(port: int, token: str, payload: dict, calls: int = 16) -> list[int]:
    statuses, start = [], threading.Barrier(calls)

    def call():
        start.wait()
        statuses.append(_put_over_http(port, token, payload))

    threads = [threading.Thread(target=call) for _ in range(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return sorted(statuses)


def test_sixteen_identical_calls_at_once_are_one_conversion_and_one_restatement(app, api):
    api.goal()
    api.lead(days_ago=5, email="ada@example.com", msclkid=MSCLKID)
    server = LiveServer(app)
    try:
        payload = body(email="ada@example.com", converted_at=(NOW - timedelta(days=3)).isoformat())
        assert _at_once(server.port, api.token, payload) == [200] * 15 + [201]
        assert api.count(Conversion) == 1
        with app.app_context():
            run_export(app.config["EXPORT_DIR"])
        statuses = _at_once(server.port, api.token, {**payload, "value": "250", "currency": "USD"})
        assert statuses == [200] * 16
        assert api.count(Adjustment) == 1
    finally:
        server.stop()
