"""POST /leads: every rule of SPEC §2, as tables, on SQLite and PostgreSQL."""

import io
import json

import pytest

from capture.models import Click
from database import db
from leads.contact import sha256_hex
from leads.models import Lead
from tests.conftest import make_app

MSCLKID = "f894f652ea334e739002f7167ab8f8e3"
GCLID = "-Cj0KCQjw_AbC-123"
SHOP = "https://shop.example"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def leads(app):
    with app.app_context():
        rows = db.session.execute(db.select(Lead).order_by(Lead.id)).scalars().all()
        for lead in rows:
            lead.click_ids  # noqa: B018 - load before the session closes
            for row in lead.click_ids:
                row.click  # noqa: B018
        return rows


@pytest.fixture
def shop_app(database_url, tmp_path):
    return make_app(database_url, tmp_path, ALLOWED_ORIGINS=SHOP)


@pytest.mark.parametrize(
    ("post", "status"),
    [
        (lambda c: c.post("/leads", json={"email": "a@example.com"}), 201),
        (lambda c: c.post("/leads", data={"email": "a@example.com"}), 303),
        (lambda c: c.post("/leads", data={"email": "a@example.com"},
                          headers={"Accept": "application/json"}), 201),
        (lambda c: c.post("/leads", data={"email": "a@example.com", "cv": (io.BytesIO(b"x"), "cv.pdf")},
                          content_type="multipart/form-data"), 303),
        (lambda c: c.post("/leads", data=json.dumps({"email": "a@example.com"}),
                          content_type="application/json; charset=utf-8"), 201),
    ],
    ids=["json", "urlencoded", "urlencoded-accept-json", "multipart", "json-charset"],
)  # fmt: skip
def test_each_content_type_stores_the_lead(app, client, post, status):
    response = post(client)
    assert response.status_code == status
    (lead,) = leads(app)
    assert lead.email == "a@example.com"
    assert lead.status == "new"
    if status == 201:
        assert response.get_json() == {"id": lead.public_id, "status": "received"}
    else:
        assert response.headers["Location"] == "/leads/thanks"
        assert client.get("/leads/thanks").status_code == 200


def test_a_whole_lead_is_stored_with_everything_it_sent(app, client):
    form = {
        "name": "  Åsa <script>alert(1)</script> Öberg ",
        "email": " Jane.Doe+shop@Example.com ",
        "phone": "(425) 555-1234",
        "company": "Contoso & Co",
        "message": "Ring me\nafter 5",
        "msclkid": MSCLKID,
        "GCLID": GCLID,
        "utm_source": "bing",
        "utm_campaign": "spring sale",
        "landing_url": "https://shop.example/offer?msclkid=" + MSCLKID,
        "referrer": "https://www.bing.com/",
        "ad_user_data": "GRANTED",
        "ad_personalization": "Denied",
        "budget": "10k",
        "interest": ["solar", "battery"],
        "submission_id": "s-1",
    }
    assert client.post("/leads", data=form).status_code == 303
    (lead,) = leads(app)
    assert lead.name == "Åsa <script>alert(1)</script> Öberg"
    assert lead.email == "Jane.Doe+shop@Example.com"
    assert lead.email_search == "jane.doe+shop@example.com"
    assert lead.email_sha256_google == sha256_hex("jane.doe+shop@example.com")
    assert lead.email_sha256_microsoft == sha256_hex("janedoe@example.com")
    assert lead.phone_e164 == "+14255551234"
    assert lead.phone_sha256 == sha256_hex("+14255551234")
    assert lead.company == "Contoso & Co"
    assert lead.message == "Ring me\nafter 5"
    assert [(c.param, c.value, c.valid) for c in lead.click_ids] == [
        ("gclid", GCLID, True),
        ("msclkid", MSCLKID, True),
    ]
    assert lead.attribution == {"utm_source": "bing", "utm_campaign": "spring sale"}
    assert lead.extra == {"budget": "10k", "interest": ["solar", "battery"]}
    assert lead.landing_url.endswith(MSCLKID)
    assert lead.referrer == "https://www.bing.com/"
    assert (lead.ad_user_data, lead.ad_personalization) == ("granted", "denied")
    assert lead.idempotency_key == "s-1"


def test_country_decides_how_a_national_phone_is_read(app, client):
    client.post("/leads", json={"phone": "08-123 456 78", "country": "se"})
    client.post("/leads", json={"phone": "(425) 555-1234"})
    assert [lead.phone_e164 for lead in leads(app)] == ["+46812345678", "+14255551234"]


def test_invalid_click_id_keeps_the_lead_but_is_flagged(app, client):
    response = client.post("/leads", json={"email": "a@example.com", "msclkid": "not-a-guid",
                                           "gclid": "x" * 600})  # fmt: skip
    assert response.status_code == 201
    (lead,) = leads(app)
    assert [(c.param, c.valid, len(c.value)) for c in lead.click_ids] == [
        ("gclid", False, 500),
        ("msclkid", False, 10),
    ]


def test_lead_is_linked_to_its_recorded_click(app, client):
    client.post("/capture/clicks", data={"msclkid": MSCLKID})
    client.post("/leads", json={"email": "a@example.com", "msclkid": MSCLKID, "gclid": GCLID})
    (lead,) = leads(app)
    linked = {c.param: c.click for c in lead.click_ids}
    assert linked["msclkid"].click_id == MSCLKID
    assert linked["msclkid"].first_seen <= lead.created_at
    assert linked["gclid"] is None


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"name": "No contact"}, {"email", "phone"}),
        ({"email": "   ", "phone": ""}, {"email", "phone"}),
        ({"email": "not-an-email"}, {"email"}),
        ({"phone": "call me maybe"}, {"phone"}),
        ({"phone": "12"}, {"phone"}),
        ({"email": "a@example.com", "ad_user_data": "yes"}, {"ad_user_data"}),
        ({"email": "a@example.com", "country": "Sweden"}, {"country"}),
        ({"email": "a@example.com", "name": "x" * 201}, {"name"}),
        ({"email": "a@example.com", "message": "x" * 5001}, {"message"}),
        ({"email": ["a@example.com"]}, {"email"}),
        ({"email": "a@example.com", "name": 42}, {"name"}),
        ({"email": "a@example.com", "submission_id": "k" * 201}, {"submission_id"}),
    ],
)
def test_invalid_fields_get_422_with_a_message_per_field(app, client, body, fields):
    response = client.post("/leads", json=body)
    assert response.status_code == 422
    payload = response.get_json()
    assert payload["code"] == 422
    assert set(payload["errors"]) == fields
    assert leads(app) == []


def test_form_post_errors_are_a_page_that_says_what_to_fix(client):
    response = client.post(
        "/leads", data={"email": "not-an-email", "name": "<b>Bo</b>"}, headers=BROWSER
    )
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Email:" in page
    assert "Enter an email address such as name@example.com." in page
    assert "<b>Bo</b>" not in page


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"data": "{broken", "content_type": "application/json"}, 400),
        ({"data": '"just a string"', "content_type": "application/json"}, 400),
        ({"data": "email=a@example.com", "content_type": "text/plain"}, 415),
        ({"data": "<lead/>", "content_type": "application/xml"}, 415),
        ({"data": "email=a@example.com&message=" + "x" * 70_000,
          "content_type": "application/x-www-form-urlencoded"}, 413),
        ({"data": json.dumps({"email": "a@example.com", "message": "x" * 70_000}),
          "content_type": "application/json"}, 413),
    ],
)  # fmt: skip
def test_malformed_bodies_are_refused(app, client, kwargs, status):
    response = client.post("/leads", headers={"Accept": "application/json"}, **kwargs)
    assert response.status_code == status
    assert response.get_json()["code"] == status
    assert leads(app) == []


@pytest.mark.parametrize(
    ("next_url", "origin", "location"),
    [
        (SHOP + "/thanks", None, SHOP + "/thanks"),
        (SHOP + "/thanks", SHOP, SHOP + "/thanks"),
        ("https://evil.example/", SHOP, "/leads/thanks"),
        ("//evil.example/", SHOP, "/leads/thanks"),
        ("javascript:alert(1)", SHOP, "/leads/thanks"),
        ("https:%2F%2Fevil.example", SHOP, "/leads/thanks"),
        ("https://shop.example@evil.example/", SHOP, "/leads/thanks"),
        ("", SHOP, "/leads/thanks"),
    ],
)
def test_form_post_redirects_only_to_allowed_origins(shop_app, next_url, origin, location):
    headers = {"Origin": origin} if origin else {}
    response = shop_app.test_client().post(
        "/leads", data={"email": "a@example.com", "_next": next_url}, headers=headers
    )
    assert response.status_code == 303
    assert response.headers["Location"] == location
    assert len(leads(shop_app)) == 1


def test_without_allowed_origins_the_posting_origin_may_be_the_target(client):
    headers = {"Origin": "http://landing.test"}
    own = client.post("/leads", headers=headers,
                      data={"email": "a@example.com", "_next": "http://landing.test/ok"})  # fmt: skip
    other = client.post("/leads", headers=headers,
                        data={"email": "a@example.com", "_next": "http://other.test/ok"})  # fmt: skip
    assert own.headers["Location"] == "http://landing.test/ok"
    assert other.headers["Location"] == "/leads/thanks"


def test_cross_origin_json_works_for_allowed_origins_only(shop_app):
    client = shop_app.test_client()
    preflight = client.options(
        "/leads",
        headers={"Origin": SHOP, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type, idempotency-key"},
    )  # fmt: skip
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == SHOP
    assert "idempotency-key" in preflight.headers["Access-Control-Allow-Headers"].lower()
    ok = client.post("/leads", json={"email": "a@example.com"}, headers={"Origin": SHOP})
    assert ok.status_code == 201
    assert ok.headers["Access-Control-Allow-Origin"] == SHOP
    refused = client.post("/leads", json={"email": "b@example.com"},
                          headers={"Origin": "https://evil.example"})  # fmt: skip
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert [lead.email for lead in leads(shop_app)] == ["a@example.com"]


@pytest.mark.parametrize("via", ["field", "header"])
def test_the_same_submission_twice_is_one_lead(app, client, via):
    body = {"email": "a@example.com", "msclkid": MSCLKID}
    kwargs = {"headers": {"Idempotency-Key": "abc"}} if via == "header" else {}
    if via == "field":
        body["submission_id"] = "abc"
    first = client.post("/leads", json=body, **kwargs)
    second = client.post("/leads", json=body, **kwargs)
    assert first.status_code == second.status_code == 201
    assert first.get_json()["id"] == second.get_json()["id"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert len(leads(app)) == 1


def test_a_resubmission_with_changed_fields_is_not_lost(app, client):
    client.post("/leads", data={"email": "a@example.com", "submission_id": "abc"})
    client.post("/leads", data={"email": "a@example.com", "phone": "+14255551234",
                                "submission_id": "abc"})  # fmt: skip
    assert [lead.phone for lead in leads(app)] == [None, "+14255551234"]


def test_honeypot_answers_like_success_and_stores_spam(app, client):
    answer = client.post("/leads", json={"email": "bot@example.com", "_gotcha": "http://spam"})
    assert answer.status_code == 201
    assert answer.get_json()["status"] == "received"
    form = client.post("/leads", data={"email": "bot2@example.com", "_gotcha": "x"})
    assert form.headers["Location"] == "/leads/thanks"
    assert [(lead.email, lead.status) for lead in leads(app)] == [
        ("bot@example.com", "spam"),
        ("bot2@example.com", "spam"),
    ]


@pytest.mark.parametrize("contact", [{}, {"phone": "12"}], ids=["none", "undialable phone"])
def test_honeypot_post_without_contact_is_answered_but_not_stored(app, client, contact):
    answer = client.post("/leads", json={"name": "bot", "_gotcha": "x", **contact})
    assert answer.status_code == 201
    assert leads(app) == []


def test_one_address_is_quarantined_before_it_is_refused(database_url, tmp_path):
    app = make_app(database_url, tmp_path, LEAD_QUARANTINE_LIMIT="2 per minute",
                   LEAD_RATE_LIMIT="4 per minute")  # fmt: skip
    client = app.test_client()
    answers = [
        client.post("/leads", json={"email": f"p{i}@office.example"}).status_code for i in range(6)
    ]
    assert answers == [201, 201, 201, 201, 429, 429]
    refused = client.post("/leads", data={"email": "late@office.example"}, headers=BROWSER)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "text/html" in refused.content_type
    assert [lead.status for lead in leads(app)] == ["new", "new", "quarantined", "quarantined"]
    output = app.test_cli_runner().invoke(args=["rejections"]).output
    assert "leads.create             rate_limited                3" in output


def test_storage_failure_answers_5xx_never_success(app, client, failing_commits):
    response = client.post("/leads", json={"email": "a@example.com"})
    assert response.status_code == 503
    assert response.get_json()["message"].startswith("Nothing was saved")
    form = client.post("/leads", data={"email": "a@example.com"}, headers=BROWSER)
    assert form.status_code == 503
    assert "Nothing was saved" in form.get_data(as_text=True)
    failing_commits.undo()
    assert leads(app) == []


def test_refused_posts_are_counted_by_reason(shop_app):
    client = shop_app.test_client()
    client.post("/leads", json={"name": "x"})
    client.post("/leads", json={"name": "y"})
    client.post("/leads", data="x", content_type="text/plain")
    client.post(
        "/leads", json={"email": "a@example.com"}, headers={"Origin": "https://evil.example"}
    )
    client.post("/leads", json={"email": "bot@example.com", "_gotcha": "1"})
    client.post("/capture/clicks", json={"msclkid": "bad"})
    output = shop_app.test_cli_runner().invoke(args=["rejections"]).output
    lines = {" ".join(line.split()[1:3]): line.split()[-1] for line in output.splitlines()[:-1]}
    assert lines == {
        "leads.create invalid_fields": "2",
        "leads.create unsupported_type": "1",
        "leads.create origin_not_allowed": "1",
        "leads.create honeypot": "1",
        "capture.register_click invalid_fields": "1",
    }
    assert output.splitlines()[-1] == "All time: 6"


def test_click_model_is_not_touched_by_intake(app, client):
    client.post("/leads", json={"email": "a@example.com", "msclkid": MSCLKID})
    with app.app_context():
        assert db.session.execute(db.select(Click)).first() is None
