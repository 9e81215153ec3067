"""`flask db upgrade` builds exactly the schema the models describe, and keeps data."""

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from app import create_app
from database import db


@pytest.fixture
def empty_app(database_url):
    """An app whose database has no tables at all; PostgreSQL is rebuilt afterwards."""
    app = create_app({"DATABASE_URL": database_url, "TESTING": True})
    postgres = database_url.startswith("postgresql")
    with app.app_context():
        if postgres:
            db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            db.session.commit()
    yield app
    with app.app_context():
        if postgres:
            db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            db.session.commit()
            db.create_all()
        db.engine.dispose()


def upgrade(app, revision="head"):
    result = app.test_cli_runner().invoke(args=["db", "upgrade", revision])
    assert result.exit_code == 0, result.output


def test_upgrade_creates_the_schema_of_the_models(empty_app):
    upgrade(empty_app)
    with empty_app.app_context():
        tables = set(inspect(db.engine).get_table_names())
        assert {"clicks", "leads", "lead_click_ids", "rejections", "goals", "conversions",
                "adjustments", "staff_users", "audit_events"} <= tables  # fmt: skip
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
        assert differences == []


def test_upgrade_keeps_existing_leads_and_makes_them_searchable(empty_app):
    upgrade(empty_app, "0002")
    with empty_app.app_context():
        db.session.execute(
            text("INSERT INTO leads (public_id, created_at, status, name, attribution, extra, "
                 "fingerprint) VALUES ('p1', :now, 'new', 'Åsa Öberg', '{}', '{}', 'f')"),
            {"now": datetime.now(UTC).replace(tzinfo=None)},
        )  # fmt: skip
        db.session.commit()
    upgrade(empty_app)
    with empty_app.app_context():
        words = db.session.scalars(text("SELECT word FROM lead_search_words ORDER BY word"))
        assert list(words) == ["asa", "oberg"]
