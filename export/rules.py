"""Which conversions and adjustments go into which file, and when (pure: `now` is passed).

Each decision is eligible, held until a time (it goes out in a later run), or excluded
with a reason shown to staff. SPEC §4; reference/export-formats.md §1.6, §3.3, §5, §6.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

PLATFORM_WINDOW = timedelta(days=90)
MIN_CLICK_AGE = {"microsoft": timedelta(hours=1), "google": timedelta(hours=6)}
MIN_GOAL_AGE = {"microsoft": timedelta(hours=2), "google": timedelta(hours=6)}
GOOGLE_ADJUSTMENT_MIN_AGE = timedelta(hours=24)
GOOGLE_ADJUSTMENT_MAX_AGE = timedelta(days=54)
# Codes on Microsoft's list that ISO 4217 withdrew (now TRY and VES); Google takes ISO codes.
GOOGLE_WITHDRAWN_CURRENCIES = frozenset({"TRL", "VEF"})


@dataclass(frozen=True)
class Decision:
    """Eligible, held until a time, or excluded with a reason."""

    state: str  # "eligible", "held" or "excluded"
    reason: str = ""
    until: datetime | None = None


ELIGIBLE = Decision("eligible")


def held(reason: str, until: datetime) -> Decision:
    return Decision("held", reason, until)


def excluded(reason: str) -> Decision:
    return Decision("excluded", reason)


@dataclass(frozen=True)
class ConversionFacts:
    """What the rules need to know about one conversion."""

    converted_at: datetime
    click_time: datetime  # the recorded click, or the lead's arrival when none was recorded
    goal_created_at: datetime
    window_days: int
    lead_status: str = "new"
    msclkid: str | None = None  # valid click IDs only
    google_click_id: str | None = None  # gclid, else gbraid, else wbraid
    invalid_click_ids: tuple[str, ...] = ()
    email_sha256: str | None = None
    phone_sha256: str | None = None
    ad_user_data: str | None = None
    currency: str | None = None
    retracted: bool = False
    duplicate_of: int | None = None  # an earlier conversion with the same key, goal and time


def _common(facts: ConversionFacts, platform: str, now: datetime) -> Decision:
    """Apply the rules every conversion file shares."""
    if facts.lead_status != "new":
        return excluded(f"the lead is marked {facts.lead_status}")
    if facts.retracted:
        return excluded("the conversion was retracted before it was exported")
    if facts.duplicate_of:
        return excluded(f"same click ID, goal and time as conversion {facts.duplicate_of}")
    if platform == "google" and facts.currency in GOOGLE_WITHDRAWN_CURRENCIES:
        return excluded(f"Google does not accept the withdrawn currency {facts.currency}")
    if facts.converted_at > now:
        return excluded("the conversion time is in the future")
    if facts.converted_at < facts.click_time:
        return excluded("the conversion time is before the click")
    if facts.converted_at > facts.click_time + timedelta(days=facts.window_days):
        return excluded(f"the conversion is more than {facts.window_days} days after the click")
    if now > facts.click_time + PLATFORM_WINDOW:
        return excluded("the click is more than 90 days old")
    ready = max(facts.click_time + MIN_CLICK_AGE[platform],
                facts.goal_created_at + MIN_GOAL_AGE[platform])  # fmt: skip
    if now < ready:
        too_new = "click" if ready == facts.click_time + MIN_CLICK_AGE[platform] else "goal"
        return held(f"the {too_new} is too recent for {platform.title()}", ready)
    return ELIGIBLE


def _hashes_allowed(facts: ConversionFacts) -> bool:
    return facts.ad_user_data != "denied" and bool(facts.email_sha256 or facts.phone_sha256)


def _no_key(facts: ConversionFacts, what: str) -> Decision:
    if facts.invalid_click_ids:
        return excluded(
            f"no usable {what}: invalid click ID ({', '.join(facts.invalid_click_ids)})"
        )
    return excluded(f"no usable {what}")


def microsoft_conversion(facts: ConversionFacts, hashed: bool, now: datetime) -> Decision:
    """Decide for the Microsoft conversions file (MSCLKID, or hashes when the goal uses them)."""
    if not facts.msclkid and not (hashed and _hashes_allowed(facts)):
        return _no_key(facts, "Microsoft click ID")
    return _common(facts, "microsoft", now)


def google_click_conversion(facts: ConversionFacts, now: datetime) -> Decision:
    """Decide for the Google click-conversions file (GCLID, GBRAID or WBRAID)."""
    if not facts.google_click_id:
        return _no_key(facts, "Google click ID")
    return _common(facts, "google", now)


def google_enhanced_conversion(facts: ConversionFacts, now: datetime) -> Decision:
    """Decide for the Google enhanced-conversions-for-leads file (hashed email or phone)."""
    if facts.ad_user_data == "denied":
        return excluded("ad_user_data consent is denied: no hashed data is sent")
    if not (facts.email_sha256 or facts.phone_sha256):
        return excluded("no email or phone to hash")
    return _common(facts, "google", now)


def conversion_file(platform: str, facts: ConversionFacts, option: bool,
                    now: datetime) -> tuple[str, Decision]:  # fmt: skip
    """Choose the platform's one file for a conversion, and decide.

    `option` is the goal's hashed (Microsoft) or enhanced-for-leads (Google) setting. A Google
    conversion goes to the enhanced file when the goal uses it and the lead has consented
    hashes; otherwise to the click file.
    """
    if platform == "microsoft":
        return "microsoft-conversions", microsoft_conversion(facts, option, now)
    if option:
        enhanced = google_enhanced_conversion(facts, now)
        if enhanced.state != "excluded" or not facts.google_click_id:
            return "google-enhanced", enhanced
    return "google-clicks", google_click_conversion(facts, now)


@dataclass(frozen=True)
class AdjustmentFacts:
    """What the rules need to know about one restatement or retraction."""

    converted_at: datetime
    adjusted_at: datetime
    click_id: str | None  # the MSCLKID or GCLID that keys the adjustment
    conversion_retracted: bool = False
    conversion_exported_at: datetime | None = None  # start of the run that took the conversion
    conversion_exported_now: bool = False  # by the run deciding


def adjustment(platform: str, facts: AdjustmentFacts, now: datetime) -> Decision:
    """Decide for an adjustments file: it follows its conversion, within Google's limits."""
    if facts.conversion_exported_at is None:
        if facts.conversion_retracted:
            return excluded("the conversion was retracted before it was exported")
        return Decision("held", "waiting for its conversion to be exported")
    if facts.adjusted_at < facts.conversion_exported_at:
        return excluded("already in the value the conversion was exported with")
    if facts.conversion_exported_now:
        return Decision("held", "goes out in the run after its conversion's")
    if not facts.click_id:
        key = "MSCLKID" if platform == "microsoft" else "GCLID"
        return excluded(f"no {key} to key the adjustment by")
    if facts.adjusted_at < facts.converted_at:
        return excluded("the adjustment time is before the conversion time")
    if facts.adjusted_at > now:
        return excluded("the adjustment time is in the future")
    if platform == "google":
        if now > facts.converted_at + GOOGLE_ADJUSTMENT_MAX_AGE:
            return excluded("Google adjusts conversions for 54 days only")
        if now < facts.converted_at + GOOGLE_ADJUSTMENT_MIN_AGE:
            return held("Google adjusts conversions 24 hours old or older",
                        facts.converted_at + GOOGLE_ADJUSTMENT_MIN_AGE)  # fmt: skip
    return ELIGIBLE


def microsoft_hashes(facts: ConversionFacts) -> tuple[str | None, str | None]:
    """Return the hashed columns, empty when the lead denied ad_user_data consent."""
    if facts.ad_user_data == "denied":
        return None, None
    return facts.email_sha256, facts.phone_sha256
