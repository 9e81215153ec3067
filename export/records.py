"""Stored conversions and adjustments as the rules see them (facts) and the files need
them (rows). Pure: built from query results by export/sources.py."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from export.facts import AdjustmentFacts, ClickId, ConversionFacts, key_param, sendable_hashes
from export.formats import AdjustmentRow, ConversionRow, order_id
from export.platforms import Platform


@dataclass(slots=True)
class ConversionRecord:
    """A conversion with its lead's keys and its value after any restatement."""

    id: int
    converted_at: datetime
    value: Decimal | None
    currency: str | None
    lead_id: int
    lead_public_id: str
    lead_status: str
    lead_created_at: datetime
    email_sha256_google: str | None
    email_sha256_microsoft: str | None
    phone_sha256: str | None
    ad_user_data: str | None
    ad_personalization: str | None
    retracted: bool = False
    click_ids: dict[str, ClickId] = field(default_factory=dict)

    def facts(self, goal_created_at: datetime, window_days: int) -> ConversionFacts:
        """Return what the rules know of the conversion, for a goal (by its creation time
        and window: an ORM attribute read per row costs more than the rule)."""
        return ConversionFacts(
            converted_at=self.converted_at, lead_created_at=self.lead_created_at,
            goal_created_at=goal_created_at, window_days=window_days,
            click_ids=self.click_ids, email_sha256_google=self.email_sha256_google,
            email_sha256_microsoft=self.email_sha256_microsoft, phone_sha256=self.phone_sha256,
            ad_user_data=self.ad_user_data, currency=self.currency,
            lead_status=self.lead_status, retracted=self.retracted,
        )  # fmt: skip

    @property
    def order_id(self) -> str:
        return order_id(self.id, self.lead_public_id)

    def row(self, platform: Platform, kind: str, conversion_name: str) -> ConversionRow:
        """Return the file row; hashes only where the file carries them and consent allows."""
        keys, extra = {}, {}
        param = key_param(platform, self.click_ids)
        if kind == platform.hashed_file and sendable_hashes(platform, self):
            extra = {"email_sha256": platform.email_hash(self), "phone_sha256": self.phone_sha256}
        if kind == platform.hashed_file and platform.order_adjustment_file:
            # Google's enhanced file: the GCLID helps matching; the Order ID keys adjustments.
            param = param if param == platform.adjustment_key else None
            extra["order_id"] = self.order_id
        if param:
            keys = {param: self.click_ids[param].value}
        return ConversionRow(
            conversion_name, self.converted_at, self.value, platform.currency_code(self.currency),
            ad_user_data=self.ad_user_data, ad_personalization=self.ad_personalization,
            **keys, **extra,
        )  # fmt: skip


@dataclass(frozen=True)
class AdjustmentRecord:
    """An adjustment, its conversion, and where that conversion stands on the platform."""

    id: int
    kind: str
    value: Decimal | None
    currency: str | None
    adjusted_at: datetime
    conversion_id: int
    converted_at: datetime
    lead_public_id: str
    lead_status: str
    click_id: str | None
    conversion_retracted: bool
    exported_at: datetime | None = None
    exported_by_run: int | None = None
    exported_kind: str | None = None
    conversion_excluded: str | None = None

    def facts(self, run_id: int | None) -> AdjustmentFacts:
        return AdjustmentFacts(
            self.kind, self.converted_at, self.adjusted_at, self.currency, self.click_id,
            conversion_file=self.exported_kind, conversion_exported_at=self.exported_at,
            conversion_exported_now=run_id is not None and self.exported_by_run == run_id,
            conversion_excluded=self.conversion_excluded,
            conversion_retracted=self.conversion_retracted, lead_status=self.lead_status,
        )  # fmt: skip

    def row(self, platform: Platform, kind: str, conversion_name: str) -> AdjustmentRow:
        if kind == platform.order_adjustment_file:
            key = {"order_id": order_id(self.conversion_id, self.lead_public_id)}
        else:
            key = {platform.adjustment_key: self.click_id} if self.click_id else {}
        return AdjustmentRow(conversion_name, self.converted_at, self.kind, self.adjusted_at,
                             self.value, platform.currency_code(self.currency), **key)  # fmt: skip
