"""Every conversion's and adjustment's fate on a platform (pure: `now` is passed).

A fate is one of: out (the next run takes it), held until a time (a later run takes it),
or excluded with a reason (no file will ever take it). The nightly run, the feeds,
`flask export status`, the lead and Exports pages and the staff forms all ask
`conversion_fate` and `adjustment_fate`; nothing else decides. SPEC §4;
reference/export-formats.md §1.6, §3.3, §5, §6.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from export.facts import AdjustmentFacts, ConversionFacts
from export.platforms import Platform
from leads.conversion_rules import to_second
from leads.models import ERASED

PLATFORM_WINDOW = timedelta(days=90)  # a click older than this is never taken
NIGHTLY = timedelta(days=1)  # how long a conversion may wait for the next run
# What a held conversion waits for.
WAITS = {
    "click": "the click is too recent for {platform}",
    "goal": "the goal is too recent for {platform}",
    "future": "the conversion time is in the future",
}
# Why a row is excluded, by code: what the Exports page counts under each code.
EXCLUSIONS = {
    "spam": "lead marked spam",
    "erased": "lead's personal data erased",
    "retracted": "retracted before export",
    "duplicate": "same click ID, goal and time as another conversion",
    "currency": "currency the platform does not take",
    "before_click": "conversion time before the click",
    "window": "after the goal's conversion window",
    "expired": "click or conversion too old for the platform",
    "no_key": "no usable click ID or hashed contact",
    "not_exported": "its conversion was never exported",
    "merged": "already in the exported value",
    "adjustment_time": "adjustment time before the conversion",
}


@dataclass(frozen=True)
class Fate:
    """Out, held (until a time, when one is known), or excluded with a coded reason."""

    state: str  # "out", "held" or "excluded"
    reason: str = ""
    until: datetime | None = None
    code: str = ""  # an EXCLUSIONS key, for excluded fates


OUT = Fate("out")


def held(reason: str, until: datetime | None = None) -> Fate:
    return Fate("held", reason, until)


def excluded(code: str, reason: str) -> Fate:
    return Fate("excluded", reason, code=code)


def upload_deadline(click_time: datetime) -> datetime:
    """Return when a click becomes too old for a platform to take its conversion."""
    return click_time + PLATFORM_WINDOW


def _file(platform: Platform, option: bool, param: str | None, hashes: bool) -> str:
    # The hashed file when the goal uses it and the lead's hashes may be sent (or when the
    # lead has no click ID either), else the click file.
    return platform.hashed_file if option and (hashes or not param) else platform.click_file


def conversion_fate(platform: Platform, facts: ConversionFacts, option: bool, now: datetime,
                    duplicate_of: int | None = None) -> tuple[str, Fate]:  # fmt: skip
    """Return the file a conversion goes to on the platform, and its fate there.

    `option` is the goal's hashed (Microsoft) or enhanced-for-leads (Google) setting.
    """
    param, hashes = facts.key_param(platform), facts.hashes(platform)
    kind = _file(platform, option, param, hashes)
    if facts.lead_status == ERASED:
        return kind, excluded("erased", "the lead's personal data was erased")
    if not param and not (option and hashes):
        return kind, _no_key(platform, facts, option)
    if facts.lead_status == "spam":
        return kind, excluded("spam", "the lead is marked spam")
    if facts.retracted:
        return kind, excluded("retracted", "the conversion was retracted before it was exported")
    if duplicate_of:
        return kind, excluded(
            "duplicate", f"same click ID, goal and time as conversion {duplicate_of}"
        )
    if facts.currency and platform.currency_code(facts.currency) is None:
        return kind, excluded("currency", f"{platform.title} does not take {facts.currency}")
    return kind, _timing(platform, facts, facts.click_time(platform, param), now)


def _no_key(platform: Platform, facts: ConversionFacts, option: bool) -> Fate:
    invalid = [p for p in platform.click_params
               if p in facts.click_ids and not facts.click_ids[p].valid]  # fmt: skip
    reason = f"no valid {platform.title} click ID"
    if invalid:
        reason += f" (invalid {', '.join(invalid)})"
    if option and facts.ad_user_data == "denied":
        reason += ", and ad_user_data consent is denied: no hashed data is sent"
    elif option:
        reason += ", and no email or phone to hash"
    return excluded("no_key", reason)


def _timing(platform: Platform, facts: ConversionFacts, click_time: datetime,
            now: datetime) -> Fate:  # fmt: skip
    # At the files' precision: a conversion is before the click when it is before the
    # second the click happened in (the same as comparing the two whole seconds).
    if facts.converted_at < to_second(click_time):
        return excluded("before_click", "the conversion time is before the click")
    if facts.converted_at > click_time + timedelta(days=facts.window_days):
        return excluded("window", f"the conversion is more than {facts.window_days} days "
                                  "after the click, the goal's window")  # fmt: skip
    deadline = upload_deadline(click_time)
    ready, waiting_for = max((click_time + platform.min_click_age, "click"),
                             (facts.goal_created_at + platform.min_goal_age, "goal"),
                             (facts.converted_at, "future"))  # fmt: skip
    if ready >= deadline or now >= deadline:
        return excluded("expired", "the click is 90 days old before "
                                   f"{platform.title} would take the conversion")  # fmt: skip
    if facts.lead_status == "quarantined":
        return held("the lead is quarantined: release it to export it")
    if now < ready:
        return held(WAITS[waiting_for].format(platform=platform.title), ready)
    return OUT


def entry_warning(platform: Platform, facts: ConversionFacts, option: bool, now: datetime,
                  duplicate_of: int | None = None) -> str | None:  # fmt: skip
    """Say why a conversion entered now would not reach the platform, or may not."""
    _, fate = conversion_fate(platform, facts, option, now, duplicate_of)
    if fate.state == "excluded":
        return f"{platform.title} will not take it: {fate.reason}."
    deadline = upload_deadline(facts.click_time(platform))
    if max(now, fate.until or now) + NIGHTLY > deadline:
        return (
            f"{platform.title} takes it only from an export run before "
            f"{deadline:%Y-%m-%d %H:%M} UTC, when the click turns 90 days old."
        )
    return None


def adjustment_file(platform: Platform, facts: AdjustmentFacts) -> str:
    """Return the file an adjustment goes to: keyed by Order ID when its conversion had one."""
    by_order = platform.order_adjustment_file and facts.conversion_file == platform.hashed_file
    return platform.order_adjustment_file if by_order else platform.adjustment_file


def adjustment_fate(platform: Platform, facts: AdjustmentFacts,
                    now: datetime) -> tuple[str, Fate]:  # fmt: skip
    """Return an adjustment's file and fate: it follows its conversion, within the limits."""
    kind = adjustment_file(platform, facts)
    return kind, _adjustment_rules(platform, kind, facts, now)


def _adjustment_rules(platform: Platform, kind: str, facts: AdjustmentFacts,
                      now: datetime) -> Fate:  # fmt: skip
    if facts.lead_status == ERASED:
        return excluded("erased", "the lead's personal data was erased")
    if facts.conversion_excluded:
        return excluded("not_exported", f"its conversion is excluded: {facts.conversion_excluded}")
    if facts.conversion_exported_at is None:
        if facts.conversion_retracted:
            return excluded("retracted", "the conversion was retracted before it was exported")
        return held("waiting for its conversion to be exported")
    if facts.adjusted_at < facts.conversion_exported_at:
        return excluded("merged", "already in the value the conversion was exported with")
    if facts.conversion_exported_now:
        return held("goes out in the run after its conversion's")
    if kind == platform.adjustment_file and not facts.click_id:
        return excluded("no_key", f"no {platform.adjustment_key} to key the adjustment by")
    if facts.kind == "restate" and platform.currency_code(facts.currency) is None:
        return excluded("currency", f"{platform.title} does not take {facts.currency}")
    if facts.adjusted_at < facts.converted_at:
        return excluded("adjustment_time", "the adjustment time is before the conversion time")
    if facts.adjusted_at > now:
        return held("the adjustment time is in the future", facts.adjusted_at)
    ages = platform.adjustable_ages
    if ages and now > facts.converted_at + ages[1]:
        return excluded("expired", f"{platform.title} adjusts conversions for "
                                   f"{ages[1].days} days only")  # fmt: skip
    if ages and now < facts.converted_at + ages[0]:
        hours = int(ages[0].total_seconds() // 3600)
        return held(f"{platform.title} adjusts conversions {hours} hours old or older",
                    facts.converted_at + ages[0])  # fmt: skip
    return OUT
