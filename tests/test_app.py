"""The factory: configuration, production safety, health check and error shape."""

import pytest

from app import create_app
from settings import DEV_SECRET_KEY

STRONG_SECRET = "s" * 40


def test_environment_variables_override_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("CLOSELOOP_DATABASE_URL", "postgres://u@db.internal/closeloop")
    monkeypatch.setenv("CLOSELOOP_ALLOWED_ORIGINS", "https://A.example/, https://b.example")
    monkeypatch.setenv("CLOSELOOP_DEFAULT_COUNTRY", "SE")
    monkeypatch.setenv("CLOSELOOP_DEFAULT_TIMEZONE", "Europe/Stockholm")
    monkeypatch.setenv("CLOSELOOP_RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("CLOSELOOP_SECRET_KEY", "12345")
    config = create_app().config
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.internal/closeloop"
    assert config["ALLOWED_ORIGINS"] == ("https://a.example", "https://b.example")
    assert config["DEFAULT_COUNTRY"] == "SE"
    assert config["DEFAULT_TIMEZONE"] == "Europe/Stockholm"
    assert config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"
    assert config["SECRET_KEY"] == "12345"


def test_development_defaults_keep_data_in_the_instance_folder():
    app = create_app({})
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("/instance/closeloop.db")
    assert app.config["EXPORT_DIR"].endswith("/instance/exports")
    assert app.config["SESSION_COOKIE_SECURE"] is False


@pytest.mark.parametrize("secret", [DEV_SECRET_KEY, "short"])
def test_production_refuses_a_weak_secret(secret):
    with pytest.raises(RuntimeError, match="CLOSELOOP_SECRET_KEY"):
        create_app({"ENVIRONMENT": "production", "SECRET_KEY": secret})


def test_production_starts_with_a_real_secret_and_secure_cookies():
    app = create_app({"ENVIRONMENT": "production", "SECRET_KEY": STRONG_SECRET})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert "demo.landing" not in app.view_functions


def test_wsgi_entry_point_runs_in_production_mode(monkeypatch):
    import importlib
    import sys

    monkeypatch.delenv("CLOSELOOP_ENVIRONMENT", raising=False)
    monkeypatch.delenv("CLOSELOOP_SECRET_KEY", raising=False)
    sys.modules.pop("wsgi", None)
    with pytest.raises(RuntimeError, match="development secret"):
        importlib.import_module("wsgi")
    monkeypatch.setenv("CLOSELOOP_SECRET_KEY", STRONG_SECRET)
    sys.modules.pop("wsgi", None)
    assert importlib.import_module("wsgi").app.config["ENVIRONMENT"] == "production"
    sys.modules.pop("wsgi", None)


def test_unknown_environment_is_refused():
    with pytest.raises(RuntimeError, match="CLOSELOOP_ENVIRONMENT"):
        create_app({"ENVIRONMENT": "prod"})


def test_proxy_headers_are_trusted_only_when_configured():
    plain = create_app({}).test_client()
    behind = create_app({"PROXY_COUNT": 1}).test_client()
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "leads.example"}
    assert b'src="http://localhost/capture.js"' in plain.get("/demo/", headers=headers).data
    assert b'src="https://leads.example/capture.js"' in behind.get("/demo/", headers=headers).data


def test_healthz_reports_a_reachable_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unreachable_database():
    app = create_app({"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"


def test_errors_have_one_json_shape(client):
    missing = client.get("/no-such-page")
    assert missing.status_code == 404
    assert missing.get_json() == {
        "code": 404,
        "status": "Not Found",
        "message": missing.get_json()["message"],
        "errors": {},
    }
    wrong_method = client.get("/capture/clicks")
    assert wrong_method.status_code == 405
    assert wrong_method.get_json()["code"] == 405
    assert "POST" in wrong_method.headers["Allow"]


def test_unexpected_error_is_a_bare_500(app):
    @app.get("/boom")
    def boom():
        raise ValueError("secret internals")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert response.get_json()["code"] == 500
    assert "secret internals" not in response.get_data(as_text=True)


def test_demo_pages_use_the_real_script(client):
    landing = client.get("/demo/")
    assert landing.status_code == 200
    assert b'src="http://localhost/capture.js"' in landing.data
    form = client.get("/demo/form").get_data(as_text=True)
    assert 'action="/leads"' in form
    assert 'name="msclkid"' in form and 'name="gclid"' in form
    assert client.get("/").headers["Location"].endswith("/demo/")
