"""One decision from the staff form to the platforms: entry agrees with export."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from database import db
from export.facts import ClickId, ConversionFacts
from export.models import ExcludedConversion, ExportRun
from export.platforms import PLATFORMS
from export.rules import conversion_fate, entry_warning
from export.run import run_export
from leads.conversion_rules import RuleError, check_conversion_time
from leads.models import Adjustment, Conversion
from tests.test_export_run import uploads

MSCLKID = "f894f652ea334e739002f7167ab8f8e3"
GCLID = "-Cj0KCQjw_AbC-123"
START = datetime(2026, 1, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)

times = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=200))
click_ids = st.dictionaries(
    st.sampled_from(["msclkid", "gclid", "gbraid", "wbraid"]),
    st.tuples(st.booleans(), st.one_of(st.none(), st.timedeltas(timedelta(0), timedelta(days=3)))),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    arrival=times, ids=click_ids, hashes=st.booleans(),
    consent=st.sampled_from([None, "granted", "denied"]), goal_age=times,
    window=st.integers(1, 90), options=st.tuples(st.booleans(), st.booleans()),
    entered_after=times, converted_before=st.timedeltas(-SECOND * 5, timedelta(days=120)),
    currency=st.sampled_from([None, "USD", "TRY", "MZN", "HRK"]),
    later=st.floats(0, 1),
)  # fmt: skip
def test_a_conversion_accepted_without_a_warning_is_never_excluded_later(
    arrival, ids, hashes, consent, goal_age, window, options, entered_after,
    converted_before, currency, later,
):  # fmt: skip
    lead_created = START + arrival + timedelta(microseconds=arrival.microseconds or 123_456)
    now = lead_created + entered_after
    converted_at = (now - converted_before).replace(microsecond=0)  # as the form sends it
    # A recorded click comes before the lead's arrival (the script reports it on landing).
    recorded = {param: ClickId(MSCLKID if param == "msclkid" else GCLID, valid,
                               None if back is None else lead_created - back)
                for param, (valid, back) in ids.items()}  # fmt: skip
    facts = ConversionFacts(
        converted_at=converted_at, lead_created_at=lead_created,
        goal_created_at=min(START + goal_age, now), window_days=window, click_ids=recorded,
        email_sha256_google="e" * 64 if hashes else None,
        email_sha256_microsoft="m" * 64 if hashes else None,
        ad_user_data=consent, currency=currency,
    )  # fmt: skip
    try:
        check_conversion_time(converted_at, lead_created, now)  # the form's hard refusals
    except RuleError:
        return
    for platform, option in zip(PLATFORMS.values(), options, strict=True):
        if entry_warning(platform, facts, option, now) is not None:
            continue  # staff were told, and had to confirm
        deadline = facts.click_time(platform) + timedelta(days=90)
        moment = now + (deadline - now) * later
        if moment >= deadline:
            moment = deadline - SECOND
        _, fate = conversion_fate(platform, facts, option, max(moment, now))
        assert fate.state in ("out", "held"), (platform.name, fate)
        if fate.until:  # it goes out a full day before the click is too old
            assert fate.until + timedelta(days=1) <= deadline


def default_time(page: str) -> str:
    return re.search(r'id="converted_at" name="converted_at"[^>]*value="([^"]+)"', page).group(1)


def test_the_form_default_in_the_minute_the_lead_arrived_reaches_the_next_file(
    app, staff, seed, monkeypatch, tmp_path
):
    # The page is opened 0.4 s after the lead arrived, in the same second.
    opened = datetime.now(UTC).replace(microsecond=500_000) - timedelta(days=1)
    arrived = opened - timedelta(microseconds=400_000)
    monkeypatch.setattr("workspace.leads._now", lambda: opened)
    goal = seed.goal("Closed won", created_at=opened - timedelta(days=30))
    lead = seed.lead(created_at=arrived, click_ids=(("msclkid", "microsoft", MSCLKID),
                                                    ("gclid", "google", GCLID)))  # fmt: skip
    staff.as_role("sales")
    page = staff.client.get(f"/staff/leads/{lead}").get_data(as_text=True)
    assert default_time(page) == f"{opened:%Y-%m-%dT%H:%M:%S}"
    answer = staff.post(f"/staff/leads/{lead}/conversions",
                        {"goal_id": goal, "converted_at": default_time(page)})  # fmt: skip
    assert answer.status_code == 302, answer.get_data(as_text=True)
    with app.app_context():
        too_soon = run_export(str(tmp_path), clock=lambda: opened + timedelta(minutes=30))
        assert not too_soon.files and too_soon.skipped["microsoft-conversions"]
        run_export(str(tmp_path), clock=lambda: opened + timedelta(hours=7))
    files = uploads(tmp_path)
    assert files["microsoft-conversions"][0]["Conversion Time"] == f"{opened:%Y-%m-%d %H:%M:%S}"
    assert files["google-clicks"][0]["Google Click ID"] == GCLID


def test_the_form_warns_before_recording_what_a_platform_will_not_take(app, staff, seed):
    goal = seed.goal("Closed won", created_at=datetime.now(UTC) - timedelta(days=3))
    lead = seed.lead(click_ids=(("gclid", "google", GCLID),))
    staff.as_role("sales")
    form = {"goal_id": goal, "converted_at": f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%S}",
            "value": "1500", "currency": "MZN"}  # fmt: skip
    asked = staff.post(f"/staff/leads/{lead}/conversions", form)
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Record it anyway?" in page
    assert "Microsoft will not take it: no valid Microsoft click ID." in page
    assert "Google" not in page.split("Record it anyway?")[2]  # Google takes MZN and the gclid
    assert '<input type="hidden" name="currency" value="MZN">' in page
    with app.app_context():
        assert db.session.scalars(select(Conversion)).all() == []
    confirmed = staff.post(f"/staff/leads/{lead}/conversions", {**form, "confirmed": "1"})
    assert confirmed.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Conversion.currency)) == "MZN"


def test_currencies_go_out_under_each_platforms_code(app, seed, tmp_path):
    now = datetime.now(UTC)
    goal = seed.goal("Closed won", created_at=now - timedelta(days=3))
    lira, metical = (seed.lead(created_at=now - timedelta(days=2), click_ids=(
        ("msclkid", "microsoft", key), ("gclid", "google", GCLID + key[:3]))) for key in
        (MSCLKID, "a" * 32))  # fmt: skip
    with app.app_context():
        for lead, currency in ((lira, "TRY"), (metical, "MZN")):
            db.session.add(Conversion(lead_id=lead, goal_id=goal, converted_at=now - timedelta(days=1),
                                      value=Decimal("10"), currency=currency, created_at=now))  # fmt: skip
        db.session.commit()
        run_export(str(tmp_path), clock=lambda: now)
        reasons = db.session.scalars(select(ExcludedConversion.reason)).all()
    files = uploads(tmp_path)
    assert [r["Conversion Currency"] for r in files["microsoft-conversions"]] == ["TRL"]
    assert [r["Conversion Currency"] for r in files["google-clicks"]] == ["TRY", "MZN"]
    assert reasons == ["Microsoft does not take MZN"]


def test_enhanced_rows_carry_the_gclid_and_an_order_id_that_keys_adjustments(app, seed, tmp_path):
    now = datetime.now(UTC)
    goal = seed.goal("Closed won", created_at=now - timedelta(days=3), google_enhanced=True,
                     microsoft_goal_name=None)  # fmt: skip
    lead = seed.lead(created_at=now - timedelta(days=2), click_ids=(("gclid", "google", GCLID),),
                     email_sha256_google="a" * 64, ad_user_data="granted")  # fmt: skip
    bare = seed.lead(created_at=now - timedelta(days=2), email_sha256_google="b" * 64)
    conversion = seed.conversion(lead, goal, converted_at=now - timedelta(days=1))
    seed.conversion(bare, goal, converted_at=now - timedelta(days=1))
    with app.app_context():
        run_export(str(tmp_path), clock=lambda: now)
        public_ids = {c.id: c.lead.public_id for c in db.session.scalars(select(Conversion))}
        db.session.add(Adjustment(conversion_id=conversion, kind="restate", value=Decimal("70"),
                                  currency="USD", adjusted_at=now + timedelta(minutes=1)))  # fmt: skip
        db.session.commit()
        run_export(str(tmp_path), clock=lambda: now + timedelta(minutes=5))
    files = uploads(tmp_path)
    rows = files["google-enhanced"]
    assert [(r["Email"], r["Google Click ID"]) for r in rows] == [("a" * 64, GCLID), ("b" * 64, "")]
    order_ids = [r["Order ID"] for r in rows]
    assert order_ids == [f"CL{i}-{public_ids[i][:12]}" for i in sorted(public_ids)]
    [adjusted] = files["google-order-adjustments"]
    assert (adjusted["Order ID"], adjusted["Adjusted Value"]) == (order_ids[0], "70")
    assert "google-adjustments" not in files


def test_an_exclusion_is_recorded_and_counted_once_across_runs(app, staff, seed, tmp_path):
    now = datetime.now(UTC)
    goal = seed.goal("Closed won", created_at=now - timedelta(days=3))
    both = (("msclkid", "microsoft", MSCLKID), ("gclid", "google", GCLID))
    out = seed.lead(created_at=now - timedelta(days=2), click_ids=both)
    keyless = seed.lead(created_at=now - timedelta(days=2))
    spam = seed.lead(created_at=now - timedelta(days=2), click_ids=both, status="spam")
    fresh = seed.lead(created_at=now - timedelta(hours=2), click_ids=(both[1],))
    for lead in (out, keyless, spam):
        seed.conversion(lead, goal, converted_at=now - timedelta(days=1))
    seed.conversion(fresh, goal, converted_at=now - timedelta(hours=1))
    staff.as_role("viewer")
    before = staff.client.get("/staff/exports/").get_data(as_text=True)
    assert "2 no usable click ID or hashed contact" in before  # decided now, not yet recorded
    with app.app_context():
        for hours in (0, 1, 2):
            run_export(str(tmp_path), clock=lambda h=hours: now + timedelta(hours=h))
        runs = db.session.scalars(select(ExportRun).order_by(ExportRun.id)).all()
        excluded = [sum(n for kind in r.skipped.values() for reason, n in kind.items()
                        if reason.startswith("excluded")) for r in runs]  # fmt: skip
        recorded = db.session.scalars(select(ExcludedConversion.platform)).all()
    # Keyless and spam on each platform, and the fresh lead (a gclid only) on Microsoft:
    # in the first run only.
    assert excluded == [5, 0, 0]
    assert sorted(recorded) == ["google", "google", "microsoft", "microsoft", "microsoft"]
    page = staff.client.get("/staff/exports/").get_data(as_text=True)
    google = page.split("Closed won on Google</h3>")[1].split("</section>")[0]
    # Google: one exported, the fresh lead's click waits 6 h, two never go.
    assert re.search(r"<dt>Exported</dt><dd>1</dd>\s*<dt>Waiting</dt><dd>1<br>"
                     r"<small class=\"muted\">next out from", google)  # fmt: skip
    assert "1 lead marked spam" in google and "1 no usable click ID or hashed contact" in google
    link = re.search(r'href="([^"]+code=no_key)"', google).group(1).replace("&amp;", "&")
    listed = staff.client.get(link).get_data(as_text=True)
    assert f"/staff/leads/{keyless}#" in listed and f"/staff/leads/{out}#" not in listed
    assert "no valid Google click ID" in listed


def test_the_next_run_removes_what_a_killed_run_left_half_written(app, runner, seed, tmp_path):
    leftover = tmp_path / "run-000007" / ".tmpk1ll3d.tmp"
    leftover.parent.mkdir(parents=True)
    leftover.write_text("Parameters:TimeZone=+0000\r\nMicrosoft Click ID,Conv")
    done = runner.invoke(args=["export", "run", "--out", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert not leftover.exists()
    assert f"removed {leftover}" in done.output


def test_a_lead_released_from_spam_is_exported_by_the_next_run(app, staff, seed, tmp_path):
    now = datetime.now(UTC)
    goal = seed.goal("Closed won", created_at=now - timedelta(days=3), google_action_name=None)
    lead = seed.lead(created_at=now - timedelta(days=2), status="spam",
                     click_ids=(("msclkid", "microsoft", MSCLKID),))  # fmt: skip
    seed.conversion(lead, goal, converted_at=now - timedelta(days=1))
    later = now + timedelta(hours=2)  # the run's mark moves past the spam conversion
    with app.app_context():
        assert not run_export(str(tmp_path), clock=lambda: later).files
    staff.as_role("sales")
    assert staff.post(f"/staff/leads/{lead}/status", {"status": "new"}).status_code == 302
    with app.app_context():
        assert run_export(str(tmp_path), clock=lambda: later).rows["microsoft-conversions"] == 1


def test_the_goal_form_refuses_a_default_currency_a_platform_does_not_take(app, staff):
    staff.as_role("admin")
    goal = {"name": "Won", "microsoft_goal_name": "Won", "google_action_name": "Won",
            "default_value": "100", "default_currency": "MZN", "window_days": "90"}  # fmt: skip
    refused = staff.post("/staff/goals/new", goal)
    assert refused.status_code == 422
    assert "Microsoft does not take MZN" in refused.get_data(as_text=True)
    google_only = staff.post("/staff/goals/new", {**goal, "microsoft_goal_name": ""})
    assert google_only.status_code == 302


def test_bulk_conversion_names_each_lead_a_platform_will_not_take(app, staff, seed):
    goal = seed.goal("Closed won", created_at=datetime.now(UTC) - timedelta(days=3))
    both = (("msclkid", "microsoft", MSCLKID), ("gclid", "google", GCLID))
    keyed = seed.lead(name="Ada", created_at=datetime.now(UTC) - timedelta(days=1), click_ids=both)
    keyless = seed.lead(name="Bob", created_at=datetime.now(UTC) - timedelta(days=1))
    staff.as_role("sales")
    form = {"lead_id": [keyed, keyless], "goal_id": goal,
            "converted_at": f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%S}"}  # fmt: skip
    asked = staff.post("/staff/leads/bulk-convert", form).get_data(as_text=True)
    assert "Bob: Microsoft will not take it: no valid Microsoft click ID." in asked
    assert "Bob: Google will not take it" in asked and "Ada:" not in asked
    with app.app_context():
        assert db.session.scalars(select(Conversion)).all() == []
    assert staff.post("/staff/leads/bulk-convert", {**form, "confirmed": "1"}).status_code == 302
    with app.app_context():
        assert sorted(db.session.scalars(select(Conversion.lead_id))) == [keyed, keyless]
