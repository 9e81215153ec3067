"""What the export rules know about a conversion or an adjustment (pure data)."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from export.platforms import Platform


@dataclass(frozen=True, slots=True)
class ClickId:
    value: str
    valid: bool
    first_seen: datetime | None  # when the capture script reported it, if it did
    shared: bool = False  # another lead carries the same click ID on the platform


@dataclass(slots=True)  # not frozen: a run builds one per row, and frozen costs 4 times that
class ConversionFacts:
    """What the rules need to know about one conversion, stored or proposed."""

    converted_at: datetime
    lead_created_at: datetime
    goal_created_at: datetime
    window_days: int
    click_ids: Mapping[str, ClickId] = field(default_factory=dict)
    email_sha256_google: str | None = None
    email_sha256_microsoft: str | None = None
    phone_sha256: str | None = None
    ad_user_data: str | None = None
    currency: str | None = None
    lead_status: str = "new"
    retracted: bool = False

    def key_param(self, platform: Platform) -> str | None:
        return key_param(platform, self.click_ids)

    def click_time(self, platform: Platform, param: str | None = None) -> datetime:
        """Return the recorded time of the keying click, else the lead's arrival.

        `param` saves looking the key up again when the caller has it.
        """
        param = param or self.key_param(platform)
        return (param and self.click_ids[param].first_seen) or self.lead_created_at

    def hashes(self, platform: Platform) -> bool:
        return sendable_hashes(platform, self)


def key_param(platform: Platform, click_ids: Mapping[str, ClickId]) -> str | None:
    """Return the parameter whose valid click ID keys a conversion on the platform."""
    for param in platform.click_params:
        click_id = click_ids.get(param)
        if click_id is not None and click_id.valid:
            return param
    return None


def sendable_hashes(platform: Platform, lead) -> bool:
    """Tell whether a lead (or a record of one) has hashed contact data it lets us send."""
    contact = platform.email_hash(lead) or lead.phone_sha256
    return bool(contact) and lead.ad_user_data != "denied"


@dataclass(frozen=True)
class AdjustmentFacts:
    """What the rules need to know about one restatement or retraction."""

    kind: str  # "restate" or "retract"
    converted_at: datetime
    adjusted_at: datetime
    currency: str | None = None
    click_id: str | None = None  # the platform's adjustment key on the conversion's lead
    conversion_file: str | None = None  # the file kind the conversion went out in
    conversion_exported_at: datetime | None = None  # start of the run that took it
    conversion_exported_now: bool = False  # by the run deciding
    conversion_excluded: str | None = None  # why the conversion will never go out
    conversion_retracted: bool = False
    lead_status: str = "new"
