"""The ad platforms: what Closeloop knows about each one, in one registry.

A goal names its conversion per platform and turns one option on or off per platform
(Microsoft's hashed columns, Google's enhanced-conversions-for-leads file); each platform
keys rows by its own click IDs, holds new clicks and goals for its own time, and takes
its own list of currency codes. Everything else asks this registry.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache, cached_property
from pathlib import Path

from capture.params import CLICK_ID_PARAMS
from leads.conversion_rules import currencies

MICROSOFT_CURRENCY_FILE = Path(__file__).resolve().parent / "data" / "microsoft_currencies.tsv"
# Microsoft's list still has the codes ISO 4217 withdrew: its code for each ISO successor.
MICROSOFT_OLD_CODES = {"TRY": "TRL", "VES": "VEF"}


@dataclass(frozen=True)
class Platform:
    """One ad platform: its goal fields, keys, holds, currencies and file kinds."""

    name: str
    title: str
    goal_name: Callable  # goal -> the conversion's name on the platform, or None
    option: Callable  # goal -> whether the goal uses the platform's hashed-data option
    email_hash: Callable  # lead or record -> its email SHA-256 under the platform's rule
    min_click_age: timedelta
    min_goal_age: timedelta
    click_file: str  # where a conversion keyed by a click ID goes
    hashed_file: str  # where a conversion keyed by hashed email or phone goes
    adjustment_file: str  # adjustments keyed by click ID and conversion time
    # Where the hashed file carries Order IDs: the adjustments keyed by them.
    order_adjustment_file: str | None = None
    # The youngest and oldest conversion the platform lets adjust, when it limits them.
    adjustable_ages: tuple[timedelta, timedelta] | None = None

    @cached_property
    def click_params(self) -> tuple[str, ...]:
        """Return the platform's click-ID parameters, the preferred key first."""
        return tuple(p.name for p in CLICK_ID_PARAMS if p.platform == self.name)

    @property
    def adjustment_key(self) -> str:
        """Return the click-ID parameter an adjustment is keyed by (with the time)."""
        return self.click_params[0]

    def currency_code(self, iso_code: str | None) -> str | None:
        """Return the platform's code for an ISO 4217 currency, or None if it takes none."""
        return self.currency_codes.get(iso_code) if iso_code else None

    @cached_property
    def currency_codes(self) -> Mapping[str, str]:
        return currency_codes(self.name)

    def feed_file(self, goal) -> str:
        """Return the conversions file a goal's feed serves on the platform."""
        return self.hashed_file if self.option(goal) else self.click_file


MICROSOFT = Platform(
    name="microsoft",
    title="Microsoft",
    goal_name=lambda goal: goal.microsoft_goal_name,
    option=lambda goal: goal.microsoft_hashed,
    email_hash=lambda lead: lead.email_sha256_microsoft,
    min_click_age=timedelta(hours=1),
    min_goal_age=timedelta(hours=2),
    click_file="microsoft-conversions",
    hashed_file="microsoft-conversions",
    adjustment_file="microsoft-adjustments",
)
GOOGLE = Platform(
    name="google",
    title="Google",
    goal_name=lambda goal: goal.google_action_name,
    option=lambda goal: goal.google_enhanced,
    email_hash=lambda lead: lead.email_sha256_google,
    min_click_age=timedelta(hours=6),
    min_goal_age=timedelta(hours=6),
    click_file="google-clicks",
    hashed_file="google-enhanced",
    adjustment_file="google-adjustments",
    order_adjustment_file="google-order-adjustments",
    adjustable_ages=(timedelta(hours=24), timedelta(days=54)),
)
PLATFORMS: dict[str, Platform] = {platform.name: platform for platform in (MICROSOFT, GOOGLE)}


@cache
def currency_codes(platform: str) -> Mapping[str, str]:
    """Return {ISO 4217 code: the platform's code} for the currencies a platform takes.

    Google takes ISO 4217 codes. Microsoft takes the 100 codes of its own list
    (reference/export-formats.md §1.10), which names two currencies by withdrawn codes.
    """
    if platform == "google":
        return {code: code for code in currencies()}
    with MICROSOFT_CURRENCY_FILE.open(encoding="utf-8") as file:
        codes = [line.split("\t")[0] for line in file if not line.startswith(("#", "code"))]
    iso_for = {old: iso for iso, old in MICROSOFT_OLD_CODES.items()}
    return {iso_for.get(code, code): code for code in codes if code.strip()}


def goal_platforms(goal) -> list[Platform]:
    """Return the platforms a goal is set up for."""
    return [platform for platform in PLATFORMS.values() if platform.goal_name(goal)]
