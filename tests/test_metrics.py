"""GET /metrics: closed unless configured, and the database's figures, the same from every
gunicorn worker."""

import http.client
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bench.common import Gunicorn, bench_environment, upgrade
from database import db
from export.run import run_export
from leads.models import Conversion
from tests.conftest import Seed, make_app

TOKEN = "metrics-token-for-tests-0123456789"
MSCLKID = "f894f652ea334e739002f7167ab8f8e3"


def figures(text: str) -> dict:
    """Return {(name, labels...): value} from the Prometheus text format."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, *sorted(sample.labels.values()))] = sample.value
    return found


@pytest.mark.parametrize(
    ("config", "headers", "status"),
    [
        ({}, {}, 404),
        ({}, {"Authorization": f"Bearer {TOKEN}"}, 404),
        ({"METRICS_TOKEN": TOKEN}, {}, 401),
        ({"METRICS_TOKEN": TOKEN}, {"Authorization": "Bearer wrong"}, 401),
        ({"METRICS_TOKEN": TOKEN}, {"Authorization": f"Bearer {TOKEN}"}, 200),
        ({"METRICS_NETWORKS": "10.0.0.0/8"}, {}, 403),
        ({"METRICS_NETWORKS": "10.0.0.0/8, 127.0.0.1/32"}, {}, 200),
    ],
)
def test_metrics_are_closed_unless_configured(database_url, tmp_path, config, headers, status):
    app = make_app(database_url, tmp_path, **config)
    answer = app.test_client().get("/metrics", headers=headers)
    assert answer.status_code == status
    if status == 200:
        assert answer.mimetype == "text/plain"
    with app.app_context():
        db.engine.dispose()


def seed_figures(app) -> None:
    """Three leads (one spam), two refused posts, clicks, and conversions in every state."""
    now = datetime.now(UTC)
    seed = Seed(app)
    goal = seed.goal("Closed won", created_at=now - timedelta(days=30))
    client = app.test_client()
    client.post("/capture/clicks", json={"msclkid": MSCLKID})
    client.post("/capture/clicks", json={"msclkid": "b" * 32})
    ada = seed.lead(
        created_at=now - timedelta(days=3), click_ids=(("msclkid", "microsoft", MSCLKID),)
    )
    bob = seed.lead(created_at=now - timedelta(days=3))
    seed.lead(status="spam")
    for lead in (ada, bob):
        seed.conversion(lead, goal, converted_at=now - timedelta(days=2))
    with app.app_context():
        run_export(app.config["EXPORT_DIR"])  # Ada's goes to Microsoft; Bob's never will
        db.session.add(Conversion(lead_id=ada, goal_id=goal, converted_at=now - timedelta(hours=1),
                                  value=5, currency="USD", created_at=now))  # fmt: skip
        db.session.commit()
    assert client.post("/leads", json={"email": "not an email"}).status_code == 422
    assert client.post("/leads", data="{", content_type="application/json").status_code == 400


EXPECTED = {
    ("closeloop_leads", "new"): 2,
    ("closeloop_leads", "spam"): 1,
    ("closeloop_clicks",): 2,
    ("closeloop_refused_posts_total", "invalid_fields", "leads.create"): 1,
    ("closeloop_refused_posts_total", "leads.create", "malformed_body"): 1,
    ("closeloop_conversions", "exported", "microsoft"): 1,
    ("closeloop_conversions", "excluded", "microsoft"): 1,
    ("closeloop_conversions", "microsoft", "waiting"): 1,
    ("closeloop_conversions", "excluded", "google"): 2,
    ("closeloop_conversions", "google", "waiting"): 1,
    ("closeloop_export_runs_total", "finished"): 1,
}


def test_metrics_say_what_the_database_holds(database_url, tmp_path):
    app = make_app(database_url, tmp_path, METRICS_TOKEN=TOKEN)
    seed_figures(app)
    answer = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    found = figures(answer.get_data(as_text=True))
    assert {key: found.get(key) for key in EXPECTED} == EXPECTED
    assert 0 <= found[("closeloop_last_good_export_age_seconds",)] < 60
    with app.app_context():
        db.engine.dispose()


def test_every_one_of_four_gunicorn_workers_answers_the_same(tmp_path):
    url = f"sqlite:///{tmp_path / 'metrics.db'}"
    env = bench_environment(url, CLOSELOOP_METRICS_TOKEN=TOKEN,
                            CLOSELOOP_EXPORT_DIR=str(tmp_path / "exports"))  # fmt: skip
    upgrade(env)
    app = make_app(url, tmp_path)
    seed_figures(app)
    with app.app_context():
        db.engine.dispose()
    server = Gunicorn("wsgi:app", env, workers=4, threads=1)
    try:
        answers = []
        for _ in range(24):  # a new connection each time: the workers take turns
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            connection.request("GET", "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            response = connection.getresponse()
            assert response.status == 200
            answers.append(figures(response.read().decode()))
            connection.close()
        refused = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        refused.request("GET", "/metrics")
        assert refused.getresponse().status == 401
    finally:
        server.stop()
    for found in answers:
        assert {key: found.get(key) for key in EXPECTED} == EXPECTED
