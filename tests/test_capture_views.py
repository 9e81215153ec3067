"""GET /capture.js and POST /capture/clicks."""

import gzip
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from capture.models import Click
from capture.script import GZIP_BUDGET
from database import db
from tests.conftest import make_app

MSCLKID = "f894f652ea334e739002f7167ab8f8e3"
GCLID = "-Cj0KCQjw_AbC-123"
LANDING = "https://www.example.com/offer?msclkid=" + MSCLKID


def clicks(app):
    with app.app_context():
        return db.session.execute(db.select(Click).order_by(Click.id)).scalars().all()


def test_script_is_minified_with_the_registry_injected(client):
    response = client.get("/capture.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    body = response.get_data(as_text=True)
    assert "__CLOSELOOP" not in body
    assert "utm_campaign" in body and "msclkid" in body
    assert "\n" not in body.strip()
    assert response.headers["Cache-Control"] == "public, max-age=3600"
    assert response.headers["Last-Modified"]


def test_script_is_gzipped_within_budget(client):
    response = client.get("/capture.js", headers={"Accept-Encoding": "gzip, br"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert len(response.data) <= GZIP_BUDGET
    assert gzip.decompress(response.data) == client.get("/capture.js").data


def test_script_answers_304_to_a_matching_etag(client):
    first = client.get("/capture.js")
    again = client.get("/capture.js", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""
    since = client.get("/capture.js", headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304


@pytest.mark.parametrize(
    "post",
    [
        lambda c: c.post("/capture/clicks", data={"msclkid": MSCLKID, "landing_url": LANDING}),
        lambda c: c.post("/capture/clicks", json={"MSCLKID": MSCLKID, "landing_url": LANDING}),
    ],
    ids=["form", "json"],
)
def test_click_is_recorded_with_platform_time_and_landing_url(app, client, post):
    response = post(client)
    assert response.status_code == 204
    (click,) = clicks(app)
    assert (click.platform, click.param, click.click_id) == ("microsoft", "msclkid", MSCLKID)
    assert click.landing_url == LANDING
    assert click.first_seen.tzinfo is not None


def test_every_click_id_of_a_report_is_recorded_with_the_same_time(app, client):
    before = datetime.now(UTC)
    report = {"msclkid": MSCLKID, "gclid": GCLID, "landing_url": LANDING}
    client.post("/capture/clicks", data=report)
    recorded = clicks(app)
    assert {(c.param, c.click_id, c.landing_url) for c in recorded} == {
        ("msclkid", MSCLKID, LANDING), ("gclid", GCLID, LANDING)}  # fmt: skip
    assert before <= recorded[0].first_seen <= datetime.now(UTC)
    with app.app_context():  # stored alike, as the export's SQL compares them
        stored = db.session.scalars(text("SELECT first_seen FROM clicks")).all()
    assert stored[0] == stored[1]


def test_click_id_is_recorded_once_and_keeps_its_first_time(app, client):
    client.post("/capture/clicks", data={"gclid": GCLID})
    first = clicks(app)[0].first_seen
    response = client.post("/capture/clicks", data={"gclid": GCLID, "msclkid": MSCLKID})
    assert response.status_code == 204
    recorded = clicks(app)
    assert [(c.param, c.click_id) for c in recorded] == [("gclid", GCLID), ("msclkid", MSCLKID)]
    assert recorded[0].first_seen == first


def test_a_click_the_database_fails_to_store_is_answered_503(app, client, failing_commits):
    response = client.post("/capture/clicks", json={"msclkid": MSCLKID})
    assert response.status_code == 503
    failing_commits.undo()
    assert clicks(app) == []
    assert client.post("/capture/clicks", json={"msclkid": MSCLKID}).status_code == 204
    assert [click.click_id for click in clicks(app)] == [MSCLKID]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"msclkid": "not-a-guid"}, "msclkid"),
        ({"gclid": "a" * 256}, "gclid"),
        ({"gclid": "abc def"}, "gclid"),
        ({"gclid": 12345}, "gclid"),
        ({}, "_schema"),
        ({"landing_url": LANDING}, "_schema"),
        ({"msclkid": MSCLKID, "landing_url": "javascript:alert(1)"}, "landing_url"),
        ({"msclkid": MSCLKID, "landing_url": "https://x.example/" + "a" * 2048}, "landing_url"),
        ({"msclkid": MSCLKID, "email": "a@b.c"}, "email"),
    ],
)
def test_garbage_is_refused_with_a_message_per_field(app, client, body, field):
    response = client.post("/capture/clicks", json=body)
    assert response.status_code == 422
    payload = response.get_json()
    assert payload["code"] == 422
    assert payload["status"] == "Unprocessable Entity"
    assert field in payload["errors"]
    assert clicks(app) == []


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"data": "{not json", "content_type": "application/json"}, 400),
        ({"data": "[1, 2]", "content_type": "application/json"}, 400),
        ({"data": "msclkid=" + MSCLKID, "content_type": "text/plain"}, 415),
        ({"data": "<x/>", "content_type": "application/xml"}, 415),
        ({"data": "msclkid=" + "a" * 70000, "content_type": "application/x-www-form-urlencoded"},
         413),
    ],
)  # fmt: skip
def test_malformed_bodies_get_a_clear_json_error(client, kwargs, status):
    response = client.post("/capture/clicks", **kwargs)
    assert response.status_code == status
    assert response.get_json()["code"] == status
    assert response.get_json()["message"]


def test_allowed_origin_gets_cors_and_others_are_refused(database_url, tmp_path):
    app = make_app(
        database_url, tmp_path, ALLOWED_ORIGINS="https://shop.example, https://b.example"
    )
    client = app.test_client()
    preflight = client.options(
        "/capture/clicks",
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "Content-Type"},
    )  # fmt: skip
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    ok = client.post("/capture/clicks", data={"gclid": GCLID},
                     headers={"Origin": "https://shop.example"})  # fmt: skip
    assert ok.status_code == 204
    assert ok.headers["Access-Control-Allow-Origin"] == "https://shop.example"

    evil = client.post("/capture/clicks", data={"msclkid": MSCLKID},
                       headers={"Origin": "https://evil.example"})  # fmt: skip
    assert evil.status_code == 403
    assert "Access-Control-Allow-Origin" not in evil.headers
    assert "CLOSELOOP_ALLOWED_ORIGINS" in evil.get_json()["message"]
    assert [c.click_id for c in clicks(app)] == [GCLID]


def test_production_without_allowed_origins_refuses_other_origins(database_url, tmp_path):
    app = make_app(database_url, tmp_path, ENVIRONMENT="production", SECRET_KEY="s" * 40)
    client = app.test_client()
    response = client.post("/capture/clicks", data={"gclid": GCLID},
                           headers={"Origin": "https://shop.example"})  # fmt: skip
    assert response.status_code == 403
    same_origin = client.post("/capture/clicks", data={"gclid": GCLID},
                              headers={"Origin": "http://localhost"})  # fmt: skip
    assert same_origin.status_code == 204


def test_flood_from_one_client_is_refused_with_retry_after(database_url, tmp_path):
    app = make_app(database_url, tmp_path, CLICK_RATE_LIMIT="3 per minute")
    client = app.test_client()
    answers = [
        client.post("/capture/clicks", data={"gclid": f"flood{i}"}).status_code for i in range(5)
    ]
    assert answers == [204, 204, 204, 429, 429]
    refused = client.post("/capture/clicks", data={"gclid": "again"})
    assert int(refused.headers["Retry-After"]) > 0
    assert json.loads(refused.data)["code"] == 429
    assert len(clicks(app)) == 3
