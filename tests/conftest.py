"""Fixtures: the app on SQLite and on PostgreSQL, its client and runner, live servers."""

import os
import threading

import pytest
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from app import create_app
from database import db

# In CI (or when asked) a missing PostgreSQL or browser fails the run instead of skipping.
STRICT = bool(os.environ.get("CI") or os.environ.get("CLOSELOOP_TEST_STRICT"))
POSTGRES_URL = os.environ.get(
    "CLOSELOOP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

pytest_plugins = ["tests.browser"]


def require(condition: bool, reason: str) -> None:
    """Skip a test whose part is missing, or fail it when the run is strict."""
    if condition:
        return
    if STRICT:
        pytest.fail(f"{reason} (strict run: CI or CLOSELOOP_TEST_STRICT is set)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_url():
    """Return the test PostgreSQL URL once its schema is fresh."""
    engine = create_engine(POSTGRES_URL)
    try:
        engine.connect().close()
        reachable, error = True, ""
    except Exception as exc:  # noqa: BLE001 - any failure means "not there"
        reachable, error = False, str(exc).splitlines()[0]
    finally:
        engine.dispose()
    require(reachable, f"PostgreSQL is not reachable at {POSTGRES_URL}: {error}")
    app = create_app({"DATABASE_URL": POSTGRES_URL, "TESTING": True})
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.engine.dispose()
    return POSTGRES_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """Run the test once on a SQLite file and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'closeloop.db'}"
    return request.getfixturevalue("postgres_url")


def make_app(database_url: str, tmp_path, **config):
    """Create an app for tests with an empty database."""
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "EXPORT_DIR": str(tmp_path / "exports"),
            **config,
        }
    )
    with app.app_context():
        if database_url.startswith("sqlite"):
            db.create_all()
        else:
            tables = ", ".join(t.name for t in db.metadata.sorted_tables)
            db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            db.session.commit()
    return app


@pytest.fixture
def app(database_url, tmp_path):
    app = make_app(database_url, tmp_path)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class LiveServer:
    """A WSGI app served on 127.0.0.1 in a background thread."""

    def __init__(self, wsgi_app, ssl_context=None):
        self.server = make_server("127.0.0.1", 0, wsgi_app, threaded=True, ssl_context=ssl_context)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join()


@pytest.fixture
def live_server(app):
    """Serve the app; its origin is http://127.0.0.1:<port>."""
    server = LiveServer(app)
    server.url = f"http://127.0.0.1:{server.port}"
    yield server
    server.stop()
