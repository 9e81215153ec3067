"""GET /openapi.json: a valid OpenAPI 3 description of every public route, and the app
answers as it says (schemathesis), on SQLite and PostgreSQL."""

import re
from datetime import UTC, datetime

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.definitions import OPENAPI_30_VALIDATOR

from app import create_app
from capture.params import CLICK_ID_PARAMS, PARAMS
from database import db
from leads.schemas import LeadSchema
from tests.conftest import make_app
from tests.test_fuzz import HIGH_LIMITS, basic, create_feeds

CONTRACT_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def served_description() -> dict:
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://"})
    response = app.test_client().get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def test_description_is_valid_openapi_3():
    document = served_description()
    assert document["openapi"].startswith("3.")
    OPENAPI_30_VALIDATOR.validate(document)


def openapi_path(rule: str) -> str:
    """Turn a Flask rule such as /feeds/<any(a, b):platform>/<name>.csv into OpenAPI's form."""
    return re.sub(r"<(?:[^<>:]+:)?([^<>:]+)>", r"{\1}", rule)


def test_every_public_route_is_described():
    # Production has no demo pages, so every route outside the staff workspace is public.
    production = {"ENVIRONMENT": "production", "SECRET_KEY": "s" * 40}
    app = create_app({**production, "DATABASE_URL": "sqlite://"})
    paths = served_description()["paths"]
    public = [rule for rule in app.url_map.iter_rules() if not rule.rule.startswith("/staff")]
    assert public
    for rule in public:
        described = paths.get(openapi_path(rule.rule), {})
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in described, f"{method} {rule.rule} is not in /openapi.json"


def test_fields_come_from_the_registry_and_the_lead_schema():
    paths = served_description()["paths"]
    lead = paths["/leads"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(LeadSchema().fields) | {p.name for p in PARAMS} <= set(lead["properties"])
    assert lead["additionalProperties"] is True  # every other field is kept as extra data
    body = paths["/capture/clicks"]["post"]["requestBody"]["content"]["application/json"]
    report = body["schema"]["properties"]
    assert {name: report[name]["pattern"] for name in report if name != "landing_url"} == {
        p.name: p.pattern for p in CLICK_ID_PARAMS
    }


@pytest.fixture
def app(database_url, tmp_path):
    """The app with its rate limits out of the way: schemathesis posts many times."""
    app = make_app(database_url, tmp_path, **HIGH_LIMITS)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def operations(app) -> dict:
    """Load the description from the app it describes; return its operations by label."""
    api = schemathesis.openapi.from_wsgi("/openapi.json", app)
    return {op.label: op for op in (result.ok() for result in api.get_all_operations())}


# Each operation's cases run inside one test per database: schemathesis' own parametrize
# cannot rename pytest 9's test items. Negative cases need a body or a path to break.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_app_answers_as_described(app, mode):
    for operation in operations(app).values():
        if mode == GenerationMode.NEGATIVE and not (operation.body or operation.path_parameters):
            continue

        @given(case=operation.as_strategy(mode))
        @settings(
            max_examples=15,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def answers_as_described(case):
            case.call_and_validate(checks=CONTRACT_CHECKS)

        answers_as_described()


def test_a_feed_with_its_credentials_answers_as_described(app):
    operation = operations(app)["GET /feeds/{platform}/{name}.csv"]
    # The second feed's goal has no Google name any more: 404, described too.
    for (path, user, password), status in zip(create_feeds(app), (200, 404), strict=True):
        platform, name = path.removeprefix("/feeds/").removesuffix(".csv").split("/")
        case = operation.Case(path_parameters={"platform": platform, "name": name})
        response = case.call_and_validate(
            headers={"Authorization": basic(user, password)}, checks=CONTRACT_CHECKS
        )
        assert response.status_code == status


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_with_a_token_answers_as_described(app, mode):
    """Fuzz the conversions API with a valid token: never a 5xx, always as described."""
    from api.models import ApiToken
    from tests.conftest import Seed

    Seed(app).goal("Signed contract", microsoft_hashed=True, google_enhanced=True)
    app.test_client().post("/leads", json={"email": "ada@example.com"})
    with app.app_context():
        row, token = ApiToken.issue("Fuzz", ["conversions", "leads:read"], datetime.now(UTC), None)
        db.session.add(row)
        db.session.commit()
    bearer = {"Authorization": f"Bearer {token}"}
    for label, operation in operations(app).items():
        if "/api/" not in label:
            continue

        @given(case=operation.as_strategy(mode))
        @settings(max_examples=40, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def answers_as_described(case):
            case.call_and_validate(headers=bearer, checks=CONTRACT_CHECKS)

        answers_as_described()
