"""The export rules as tables: each reason, the boundaries, DST and consent."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from export.rules import (
    AdjustmentFacts,
    ConversionFacts,
    adjustment,
    conversion_file,
    google_click_conversion,
    google_enhanced_conversion,
    microsoft_conversion,
    microsoft_hashes,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CLICK = NOW - timedelta(days=10)
BASE = ConversionFacts(
    converted_at=CLICK + timedelta(days=2), click_time=CLICK,
    goal_created_at=NOW - timedelta(days=30), window_days=30,
    msclkid="f894f652ea334e739002f7167ab8f8e3", google_click_id="Cj0KCQjw",
    email_sha256="e" * 64, phone_sha256="p" * 64, ad_user_data="granted",
)  # fmt: skip
H = timedelta(hours=1)


def decide(kind, facts, now=NOW):
    return {
        "microsoft": lambda: microsoft_conversion(facts, hashed=False, now=now),
        "microsoft_hashed": lambda: microsoft_conversion(facts, hashed=True, now=now),
        "google": lambda: google_click_conversion(facts, now),
        "enhanced": lambda: google_enhanced_conversion(facts, now),
    }[kind]()


@pytest.mark.parametrize(
    ("kind", "change", "now", "state", "reason"),
    [
        ("microsoft", {}, NOW, "eligible", ""),
        ("google", {}, NOW, "eligible", ""),
        ("enhanced", {}, NOW, "eligible", ""),
        # Click age: Microsoft 1 h, Google 6 h; exactly that old is old enough.
        ("microsoft", {"click_time": NOW - H, "converted_at": NOW - H}, NOW, "eligible", ""),
        ("microsoft", {"click_time": NOW - H + timedelta(seconds=1), "converted_at": NOW - H / 2},
         NOW, "held", "click is too recent"),
        ("google", {"click_time": NOW - 6 * H, "converted_at": NOW - H}, NOW, "eligible", ""),
        ("google", {"click_time": NOW - 5 * H, "converted_at": NOW - H}, NOW, "held",
         "click is too recent"),
        # Goal age: Microsoft 2 h, Google 6 h.
        ("microsoft", {"goal_created_at": NOW - 2 * H}, NOW, "eligible", ""),
        ("microsoft", {"goal_created_at": NOW - H}, NOW, "held", "goal is too recent"),
        ("enhanced", {"goal_created_at": NOW - 3 * H}, NOW, "held", "goal is too recent"),
        # Window, order of times, the future.
        ("microsoft", {"converted_at": CLICK + timedelta(days=30)}, CLICK + timedelta(days=31),
         "eligible", ""),
        ("microsoft", {"converted_at": CLICK + timedelta(days=30, seconds=1)},
         CLICK + timedelta(days=31), "excluded", "more than 30 days after the click"),
        ("google", {"converted_at": CLICK - timedelta(seconds=1)}, NOW, "excluded", "before the click"),
        ("google", {"converted_at": NOW + timedelta(seconds=1)}, NOW, "excluded", "in the future"),
        ("microsoft", {"window_days": 90, "converted_at": CLICK + timedelta(days=89)},
         CLICK + timedelta(days=90), "eligible", ""),
        ("microsoft", {"window_days": 90, "converted_at": CLICK + timedelta(days=89)},
         CLICK + timedelta(days=90, seconds=1), "excluded", "more than 90 days old"),
        # Keys.
        ("microsoft", {"msclkid": None}, NOW, "excluded", "no usable Microsoft click ID"),
        ("microsoft", {"msclkid": None, "invalid_click_ids": ("msclkid",)}, NOW, "excluded",
         "invalid click ID (msclkid)"),
        ("microsoft_hashed", {"msclkid": None}, NOW, "eligible", ""),
        ("microsoft_hashed", {"msclkid": None, "ad_user_data": "denied"}, NOW, "excluded",
         "no usable Microsoft click ID"),
        ("google", {"google_click_id": None}, NOW, "excluded", "no usable Google click ID"),
        ("enhanced", {"ad_user_data": "denied"}, NOW, "excluded", "consent is denied"),
        ("enhanced", {"email_sha256": None, "phone_sha256": None}, NOW, "excluded",
         "no email or phone"),
        ("enhanced", {"ad_user_data": None}, NOW, "eligible", ""),
        # One conversion per click ID, goal and time.
        ("google", {"duplicate_of": 7}, NOW, "excluded", "same click ID, goal and time as conversion 7"),
        # Leads staff did not release.
        ("google", {"lead_status": "spam"}, NOW, "excluded", "marked spam"),
        ("microsoft", {"lead_status": "quarantined"}, NOW, "excluded", "marked quarantined"),
    ],
)  # fmt: skip
def test_conversion_rules(kind, change, now, state, reason):
    decision = decide(kind, replace(BASE, **change), now)
    assert decision.state == state
    assert reason in decision.reason


def test_held_rows_say_when_they_can_go():
    facts = replace(BASE, click_time=NOW - 2 * H, converted_at=NOW - H)
    decision = google_click_conversion(facts, NOW)
    assert decision.until == NOW + 4 * H
    assert google_click_conversion(facts, decision.until).state == "eligible"


def test_dst_change_does_not_move_utc_instants():
    # 01:30 New York happens twice on 2026-11-01; stored instants are UTC and stay apart.
    first = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    facts = replace(BASE, click_time=first, converted_at=first + H / 6,
                    goal_created_at=first - timedelta(days=1))  # fmt: skip
    assert microsoft_conversion(facts, False, first + H).state == "eligible"
    assert microsoft_conversion(facts, False, first + H / 2).until == first + H


def test_denied_consent_blanks_microsoft_hashes():
    assert microsoft_hashes(BASE) == ("e" * 64, "p" * 64)
    assert microsoft_hashes(replace(BASE, ad_user_data="denied")) == (None, None)


CONVERTED = NOW - timedelta(days=10)
EXPORTED = CONVERTED + H / 2
ADJUSTED = AdjustmentFacts(CONVERTED, CONVERTED + H, "key", conversion_exported_at=EXPORTED)


@pytest.mark.parametrize(
    ("platform", "change", "now", "state", "reason"),
    [
        ("microsoft", {}, NOW, "eligible", ""),
        ("microsoft", {"conversion_exported_at": None}, NOW, "held", "waiting for its conversion"),
        ("google", {"conversion_exported_at": None, "conversion_retracted": True}, NOW,
         "excluded", "retracted before it was exported"),
        ("microsoft", {"adjusted_at": EXPORTED - H / 60}, NOW, "excluded",
         "already in the value"),
        ("microsoft", {"conversion_exported_now": True}, NOW, "held", "run after"),
        ("microsoft", {"click_id": None}, NOW, "excluded", "no MSCLKID"),
        ("google", {"click_id": None}, NOW, "excluded", "no GCLID"),
        ("microsoft", {"adjusted_at": NOW + H}, NOW, "excluded", "in the future"),
        ("microsoft", {"conversion_exported_at": CONVERTED - 2 * H, "adjusted_at": CONVERTED - H},
         NOW, "excluded", "before the conversion"),
        ("google", {}, NOW, "eligible", ""),
        ("google", {}, CONVERTED + 23 * H, "held", "24 hours"),
        ("google", {}, CONVERTED + 24 * H, "eligible", ""),
        ("google", {}, CONVERTED + timedelta(days=54), "eligible", ""),
        ("google", {}, CONVERTED + timedelta(days=54, seconds=1), "excluded", "54 days"),
    ],
)  # fmt: skip
def test_adjustment_rules(platform, change, now, state, reason):
    decision = adjustment(platform, replace(ADJUSTED, **change), now)
    assert decision.state == state
    assert reason in decision.reason


@pytest.mark.parametrize(
    ("platform", "option", "change", "kind", "state", "reason"),
    [
        ("microsoft", False, {}, "microsoft-conversions", "eligible", ""),
        ("microsoft", True, {"msclkid": None}, "microsoft-conversions", "eligible", ""),
        ("google", False, {}, "google-clicks", "eligible", ""),
        ("google", True, {}, "google-enhanced", "eligible", ""),
        # An enhanced goal without consented hashes falls back to the click ID ...
        ("google", True, {"ad_user_data": "denied"}, "google-clicks", "eligible", ""),
        # ... and says why when there is neither.
        ("google", True, {"ad_user_data": "denied", "google_click_id": None}, "google-enhanced",
         "excluded", "consent is denied"),
        ("google", True, {"email_sha256": None, "phone_sha256": None}, "google-clicks",
         "eligible", ""),
        ("google", False, {"retracted": True}, "google-clicks", "excluded", "retracted"),
        ("google", False, {"currency": "TRL"}, "google-clicks", "excluded", "withdrawn currency"),
        ("microsoft", False, {"currency": "TRL"}, "microsoft-conversions", "eligible", ""),
    ],
)  # fmt: skip
def test_each_conversion_has_one_file_per_platform(platform, option, change, kind, state, reason):
    chosen, decision = conversion_file(platform, replace(BASE, **change), option, NOW)
    assert (chosen, decision.state) == (kind, state)
    assert reason in decision.reason
