"""The one decision as tables: each reason, the boundaries, precision, DST and consent."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from export.facts import AdjustmentFacts, ClickId, ConversionFacts
from export.platforms import GOOGLE, MICROSOFT, PLATFORMS
from export.rules import adjustment_fate, conversion_fate, entry_warning

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CLICK = NOW - timedelta(days=10)
MSCLKID, GCLID = "f894f652ea334e739002f7167ab8f8e3", "Cj0KCQjw"
H = timedelta(hours=1)


def facts(click_time=CLICK, msclkid=MSCLKID, gclid=GCLID, invalid=(), **change):
    """Return a conversion's facts; click IDs set to None are absent, `invalid` ones fail."""
    values = {"msclkid": msclkid, "gclid": gclid, **{param: "bad id" for param in invalid}}
    click_ids = {param: ClickId(value, param not in invalid, click_time)
                 for param, value in values.items() if value}  # fmt: skip
    base = ConversionFacts(
        converted_at=click_time + timedelta(days=2), lead_created_at=click_time,
        goal_created_at=NOW - timedelta(days=30), window_days=30, click_ids=click_ids,
        email_sha256_google="e" * 64, email_sha256_microsoft="m" * 64, phone_sha256="p" * 64,
        ad_user_data="granted", currency="USD",
    )  # fmt: skip
    return replace(base, **change)


def fate(platform, option=False, now=NOW, **change):
    return conversion_fate(PLATFORMS[platform], facts(**change), option, now)[1]


@pytest.mark.parametrize(
    ("platform", "option", "change", "now", "state", "reason"),
    [
        ("microsoft", False, {}, NOW, "out", ""),
        ("google", False, {}, NOW, "out", ""),
        ("google", True, {}, NOW, "out", ""),
        # Click age: Microsoft 1 h, Google 6 h; exactly that old is old enough.
        ("microsoft", False, {"click_time": NOW - H, "converted_at": NOW - H}, NOW, "out", ""),
        ("microsoft", False, {"click_time": NOW - H + timedelta(seconds=1),
                              "converted_at": NOW - H / 2}, NOW, "held", "click is too recent"),
        ("google", False, {"click_time": NOW - 6 * H, "converted_at": NOW - H}, NOW, "out", ""),
        ("google", False, {"click_time": NOW - 5 * H, "converted_at": NOW - H}, NOW, "held",
         "click is too recent"),
        # Goal age: Microsoft 2 h, Google 6 h.
        ("microsoft", False, {"goal_created_at": NOW - 2 * H}, NOW, "out", ""),
        ("microsoft", False, {"goal_created_at": NOW - H}, NOW, "held", "goal is too recent"),
        ("google", True, {"goal_created_at": NOW - 3 * H}, NOW, "held", "goal is too recent"),
        # Window and order of times, at the files' precision (the second).
        ("microsoft", False, {"converted_at": CLICK + timedelta(days=30)},
         CLICK + timedelta(days=31), "out", ""),
        ("microsoft", False, {"converted_at": CLICK + timedelta(days=30, seconds=1)},
         CLICK + timedelta(days=31), "excluded", "more than 30 days after the click"),
        ("google", False, {"converted_at": CLICK - timedelta(seconds=1)}, NOW, "excluded",
         "before the click"),
        ("google", False, {"click_time": CLICK + timedelta(microseconds=700_000),
                           "converted_at": CLICK}, NOW, "out", ""),
        # A time in the future (another host's clock) waits for it.
        ("google", False, {"converted_at": NOW + timedelta(seconds=1)}, NOW, "held", "in the future"),
        ("microsoft", False, {"window_days": 90, "converted_at": CLICK + timedelta(days=89)},
         CLICK + timedelta(days=90) - timedelta(seconds=1), "out", ""),
        ("microsoft", False, {"window_days": 90, "converted_at": CLICK + timedelta(days=89)},
         CLICK + timedelta(days=90), "excluded", "90 days old"),
        # A goal created so late that the click is 90 days old before the platform takes it.
        ("google", False, {"window_days": 90, "converted_at": CLICK + timedelta(days=89),
                           "goal_created_at": CLICK + timedelta(days=89, hours=20)},
         CLICK + timedelta(days=89, hours=21), "excluded", "90 days old"),
        # Keys.
        ("microsoft", False, {"msclkid": None}, NOW, "excluded", "no valid Microsoft click ID"),
        ("microsoft", False, {"msclkid": None, "invalid": ("msclkid",)}, NOW, "excluded",
         "(invalid msclkid)"),
        ("microsoft", True, {"msclkid": None}, NOW, "out", ""),
        ("microsoft", True, {"msclkid": None, "ad_user_data": "denied"}, NOW, "excluded",
         "consent is denied"),
        ("google", False, {"gclid": None}, NOW, "excluded", "no valid Google click ID"),
        ("google", True, {"gclid": None, "ad_user_data": "denied"}, NOW, "excluded",
         "consent is denied"),
        ("google", True, {"gclid": None, "email_sha256_google": None, "phone_sha256": None},
         NOW, "excluded", "no email or phone"),
        ("google", True, {"ad_user_data": None}, NOW, "out", ""),
        # Leads staff did not release, retractions, currencies.
        ("google", False, {"lead_status": "spam"}, NOW, "excluded", "marked spam"),
        ("microsoft", False, {"lead_status": "quarantined"}, NOW, "held", "quarantined"),
        ("google", False, {"retracted": True}, NOW, "excluded", "retracted"),
        ("microsoft", False, {"currency": "XOF"}, NOW, "out", ""),
        ("microsoft", False, {"currency": "MZN"}, NOW, "excluded", "Microsoft does not take MZN"),
        ("google", False, {"currency": "MZN"}, NOW, "out", ""),
        ("google", False, {"currency": "HRK"}, NOW, "excluded", "Google does not take HRK"),
    ],
)  # fmt: skip
def test_conversion_fates(platform, option, change, now, state, reason):
    decided = fate(platform, option, now, **change)
    assert decided.state == state
    assert reason in decided.reason
    assert (decided.code != "") == (state == "excluded")


def test_one_conversion_per_click_id_goal_and_time():
    decided = conversion_fate(GOOGLE, facts(), False, NOW, duplicate_of=7)[1]
    assert (decided.state, decided.code) == ("excluded", "duplicate")
    assert "conversion 7" in decided.reason


def test_held_rows_say_when_they_can_go():
    held = fate("google", click_time=NOW - 2 * H, converted_at=NOW - H)
    assert held.until == NOW + 4 * H
    assert (
        fate("google", now=held.until, click_time=NOW - 2 * H, converted_at=NOW - H).state == "out"
    )


def test_dst_change_does_not_move_utc_instants():
    # 01:30 New York happens twice on 2026-11-01; stored instants are UTC and stay apart.
    first = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    change = {"click_time": first, "converted_at": first + H / 6,
              "goal_created_at": first - timedelta(days=1)}  # fmt: skip
    assert fate("microsoft", now=first + H, **change).state == "out"
    assert fate("microsoft", now=first + H / 2, **change).until == first + H


@pytest.mark.parametrize(
    ("iso", "microsoft", "google"),
    [("USD", "USD", "USD"), ("TRY", "TRL", "TRY"), ("VES", "VEF", "VES"), ("SEK", "SEK", "SEK"),
     ("JPY", "JPY", "JPY"), ("MZN", None, "MZN"), ("HRK", "HRK", None), ("TRL", None, None),
     ("XAU", None, None)],
)  # fmt: skip
def test_each_platform_maps_iso_currencies_to_its_own_codes(iso, microsoft, google):
    assert MICROSOFT.currency_code(iso) == microsoft
    assert GOOGLE.currency_code(iso) == google


@pytest.mark.parametrize(
    ("platform", "option", "change", "kind"),
    [
        ("microsoft", False, {}, "microsoft-conversions"),
        ("microsoft", True, {"msclkid": None}, "microsoft-conversions"),
        ("google", False, {}, "google-clicks"),
        ("google", True, {}, "google-enhanced"),
        # An enhanced goal without consented hashes falls back to the click ID ...
        ("google", True, {"ad_user_data": "denied"}, "google-clicks"),
        ("google", True, {"email_sha256_google": None, "phone_sha256": None}, "google-clicks"),
        # ... and names the enhanced file when there is neither.
        ("google", True, {"ad_user_data": "denied", "gclid": None}, "google-enhanced"),
    ],
)  # fmt: skip
def test_each_conversion_has_one_file_per_platform(platform, option, change, kind):
    assert conversion_fate(PLATFORMS[platform], facts(**change), option, NOW)[0] == kind


@pytest.mark.parametrize(
    ("change", "now", "warned"),
    [
        ({}, NOW, None),
        ({"msclkid": None}, NOW, "Microsoft will not take it: no valid Microsoft click ID"),
        ({"currency": "MZN"}, NOW, "Microsoft will not take it: Microsoft does not take MZN"),
        # The click turns 90 days old within a day of the conversion going out.
        ({"window_days": 90, "converted_at": CLICK + timedelta(days=89, hours=2)},
         CLICK + timedelta(days=89, hours=3), "only from an export run before"),
        ({"window_days": 90, "converted_at": CLICK + timedelta(days=88)},
         CLICK + timedelta(days=88, hours=1), None),
    ],
)  # fmt: skip
def test_entry_warns_about_what_the_export_will_do(change, now, warned):
    warning = entry_warning(MICROSOFT, facts(**change), False, now)
    assert warning == warned if warned is None else warned in warning


CONVERTED = NOW - timedelta(days=10)
EXPORTED = CONVERTED + H / 2
ADJUSTED = AdjustmentFacts("restate", CONVERTED, CONVERTED + H, "USD", "key",
                           conversion_file="google-clicks", conversion_exported_at=EXPORTED)  # fmt: skip


@pytest.mark.parametrize(
    ("platform", "change", "now", "kind", "state", "reason"),
    [
        ("microsoft", {}, NOW, "microsoft-adjustments", "out", ""),
        ("microsoft", {"conversion_exported_at": None}, NOW, "microsoft-adjustments", "held",
         "waiting for its conversion"),
        ("google", {"conversion_exported_at": None, "conversion_retracted": True}, NOW,
         "google-adjustments", "excluded", "retracted before it was exported"),
        ("google", {"conversion_exported_at": None, "conversion_excluded": "no valid key"}, NOW,
         "google-adjustments", "excluded", "its conversion is excluded: no valid key"),
        ("microsoft", {"adjusted_at": EXPORTED - H / 60}, NOW, "microsoft-adjustments",
         "excluded", "already in the value"),
        ("microsoft", {"conversion_exported_now": True}, NOW, "microsoft-adjustments", "held",
         "run after"),
        ("microsoft", {"click_id": None}, NOW, "microsoft-adjustments", "excluded", "no msclkid"),
        ("google", {"click_id": None}, NOW, "google-adjustments", "excluded", "no gclid"),
        # A conversion that went out in the enhanced file is adjusted by its Order ID.
        ("google", {"click_id": None, "conversion_file": "google-enhanced"}, NOW,
         "google-order-adjustments", "out", ""),
        ("microsoft", {"currency": "MZN"}, NOW, "microsoft-adjustments", "excluded",
         "does not take MZN"),
        ("microsoft", {"kind": "retract", "currency": None}, NOW, "microsoft-adjustments",
         "out", ""),
        ("microsoft", {"adjusted_at": NOW + H}, NOW, "microsoft-adjustments", "held",
         "in the future"),
        ("microsoft", {"conversion_exported_at": CONVERTED - 2 * H, "adjusted_at": CONVERTED - H},
         NOW, "microsoft-adjustments", "excluded", "before the conversion"),
        ("google", {}, CONVERTED + 23 * H, "google-adjustments", "held", "24 hours"),
        ("google", {}, CONVERTED + 24 * H, "google-adjustments", "out", ""),
        ("google", {}, CONVERTED + timedelta(days=54), "google-adjustments", "out", ""),
        ("google", {}, CONVERTED + timedelta(days=54, seconds=1), "google-adjustments",
         "excluded", "54 days"),
    ],
)  # fmt: skip
def test_adjustment_fates(platform, change, now, kind, state, reason):
    chosen, decided = adjustment_fate(PLATFORMS[platform], replace(ADJUSTED, **change), now)
    assert (chosen, decided.state) == (kind, state)
    assert reason in decided.reason
