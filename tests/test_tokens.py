"""API tokens in the workspace (admin): created and shown once, last use, revoked with a
confirmation; what a token changes is in the audit trail under its name."""

import html
import re
from datetime import UTC, datetime, timedelta

from database import db
from tests.conftest import Seed


def text_of(response) -> str:
    page = html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))
    return re.sub(r"\s+", " ", page)


def create_token(staff, name="HubSpot", scopes=("conversions",)) -> str:
    created = staff.post("/staff/tokens/", {"name": name, "scope": list(scopes)})
    assert created.status_code == 302
    page = staff.client.get(created.headers["Location"]).get_data(as_text=True)
    return re.search(r'<code id="token-secret"[^>]*>([^<]+)</code>', page).group(1)


def test_a_token_is_shown_once_works_shows_its_last_use_and_is_revoked(app, staff):
    staff.as_role("admin")
    token = create_token(staff)
    assert token.startswith("clk_") and len(token) > 40
    listed = staff.client.get("/staff/tokens/")
    assert token not in listed.get_data(as_text=True)  # shown once: a reload does not show it
    assert "HubSpot may use conversions" in text_of(listed) and "never" in text_of(listed)

    bearer = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/v1/conversions/x", headers=bearer).status_code == 404
    assert "never" not in text_of(staff.client.get("/staff/tokens/")).split("HubSpot")[1]

    asked = staff.post("/staff/tokens/1/revoke")
    assert asked.status_code == 200 and "Revoke the API token HubSpot?" in text_of(asked)
    assert app.test_client().get("/api/v1/conversions/x", headers=bearer).status_code == 404
    revoked = staff.post("/staff/tokens/1/revoke", {"confirmed": "1"})
    assert revoked.status_code == 302
    assert app.test_client().get("/api/v1/conversions/x", headers=bearer).status_code == 401
    assert "revoked" in text_of(staff.client.get("/staff/tokens/"))


def test_a_token_needs_a_name_and_a_scope(staff):
    staff.as_role("admin")
    nameless = staff.post("/staff/tokens/", {"name": "", "scope": ["conversions"]})
    assert nameless.status_code == 422
    assert "Name the token after what uses it" in text_of(nameless)
    scopeless = staff.post("/staff/tokens/", {"name": "Zapier"})
    assert scopeless.status_code == 422
    assert "Choose what the token may do." in text_of(scopeless)
    assert 'value="Zapier"' in scopeless.get_data(as_text=True)  # the entered name stays
    bogus = staff.post("/staff/tokens/", {"name": "Zapier", "scope": ["admin"]})
    assert bogus.status_code == 422


def test_only_admins_manage_tokens(staff):
    staff.as_role("sales")
    assert staff.client.get("/staff/tokens/").status_code == 403
    assert staff.post("/staff/tokens/", {"name": "x", "scope": ["conversions"]}).status_code == 403


def test_what_a_token_changes_is_audited_under_its_name(app, staff):
    Seed(app).goal("Signed contract", microsoft_hashed=True, google_enhanced=True)
    client = app.test_client()
    lead = client.post("/leads", json={"email": "ada@example.com"}).get_json()["id"]
    now = datetime.now(UTC).replace(microsecond=0)  # after the lead arrived, to the second
    staff.as_role("admin")
    token = create_token(staff, "Pipedrive")
    put = client.put("/api/v1/conversions/deal-7", headers={"Authorization": f"Bearer {token}"},
                     json={"lead_id": lead, "goal": "Signed contract",
                           "converted_at": now.isoformat(), "value": 990, "currency": "EUR"})  # fmt: skip
    assert put.status_code == 201, put.get_json()
    trail = text_of(staff.client.get("/staff/audit/"))
    assert "The API token Pipedrive marked lead #1 converted to Signed contract" in trail
    assert "990.00 EUR" in trail
    assert "created the API token Pipedrive" in trail
    with app.app_context():
        from api.models import ApiToken

        used = db.session.scalar(db.select(ApiToken.last_used_at))
    assert datetime.now(UTC) - used < timedelta(minutes=1)
