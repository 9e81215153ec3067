"""Fixtures: the app on SQLite and on PostgreSQL, its client and runner, live servers."""

import os
import threading

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
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
def failing_commits(app, monkeypatch):
    """Make every commit fail at the driver, as a full disk or a lost server would;
    `failing_commits.undo()` makes them work again."""

    def broken_commit(dbapi_connection):
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    with app.app_context():
        monkeypatch.setattr(db.engine.dialect, "do_commit", broken_commit)
    return monkeypatch


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


PASSWORD = "correct horse battery staple"


def csrf_token(client, path: str = "/staff/sign-in") -> str:
    """Return the CSRF token of a page's form, as a browser would find it."""
    import re

    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


class StaffActions:
    """Create staff accounts and sign in as them, through the real pages."""

    def __init__(self, app, client):
        self.app = app
        self.client = client

    def create(self, email: str, role: str = "sales", timezone: str = "UTC") -> int:
        from staff.cli import add_staff

        with self.app.app_context():
            user = add_staff(email, role, PASSWORD, timezone)
            db.session.commit()
            return user.id

    def sign_in(self, email: str, password: str = PASSWORD):
        return self.client.post(
            "/staff/sign-in",
            data={"email": email, "password": password, "csrf_token": csrf_token(self.client)},
        )

    def as_role(self, role: str, timezone: str = "UTC") -> int:
        """Create a member with the role and sign in as them; return their id."""
        user_id = self.create(f"{role}@example.com", role, timezone)
        assert self.sign_in(f"{role}@example.com").status_code == 302
        return user_id

    def post(self, path: str, data: dict | None = None, **kwargs):
        """Post a staff form with a valid CSRF token."""
        token = csrf_token(self.client, "/staff/account")
        return self.client.post(path, data={**(data or {}), "csrf_token": token}, **kwargs)


@pytest.fixture
def staff(app, client):
    return StaffActions(app, client)


class Seed:
    """Put goals, leads and conversions straight into the database."""

    def __init__(self, app):
        self.app = app
        self.count = 0

    def goal(self, name: str = "Closed won", **fields) -> int:
        from datetime import UTC, datetime
        from decimal import Decimal

        from leads.models import Goal

        defaults = {"microsoft_goal_name": name, "google_action_name": name,
                    "default_value": Decimal("100"), "default_currency": "USD", "window_days": 90}  # fmt: skip
        with self.app.app_context():
            goal = Goal(name=name, **{"created_at": datetime.now(UTC), **defaults, **fields})
            db.session.add(goal)
            db.session.commit()
            return goal.id

    def lead(self, created_at=None, click_ids=(), **fields) -> int:
        from datetime import UTC, datetime, timedelta

        from capture.params import PARAMS_BY_KEY, is_valid
        from leads.models import Lead, LeadClickId

        self.count += 1
        fields.setdefault("email", f"lead{self.count}@example.com")
        with self.app.app_context():
            lead = Lead(
                public_id=f"p{self.count}-{id(self)}",
                created_at=created_at or datetime.now(UTC) - timedelta(days=1),
                status=fields.pop("status", "new"),
                email_search=fields["email"].lower() if fields["email"] else None,
                fingerprint="f",
                attribution={},
                extra={},
                **fields,
            )
            lead.click_ids = [
                LeadClickId(
                    param=param,
                    platform=platform,
                    value=value,
                    valid=is_valid(PARAMS_BY_KEY[param], value),
                )
                for param, platform, value in click_ids
            ]
            db.session.add(lead)
            db.session.commit()
            return lead.id

    def conversion(self, lead_id: int, goal_id: int, converted_at=None) -> int:
        from datetime import UTC, datetime
        from decimal import Decimal

        from leads.models import Conversion

        with self.app.app_context():
            conversion = Conversion(
                lead_id=lead_id, goal_id=goal_id, converted_at=converted_at or datetime.now(UTC),
                value=Decimal("100"), currency="USD", created_at=datetime.now(UTC),
            )  # fmt: skip
            db.session.add(conversion)
            db.session.commit()
            return conversion.id

    def lead_with_conversion(self) -> tuple[int, int]:
        lead_id = self.lead(name="Ada")
        return lead_id, self.conversion(lead_id, self.goal())


@pytest.fixture
def seed(app):
    return Seed(app)
