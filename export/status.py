"""Where each of a lead's conversions and adjustments stands in the export, and why."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from database import db
from export import sources
from export.formats import FILE_KINDS
from export.models import ExportedAdjustment, ExportedConversion, ExportFile
from export.rules import adjustment, conversion_file
from export.run import PLATFORMS
from leads.models import Lead


@dataclass(frozen=True)
class ExportStatus:
    """One conversion or adjustment for one platform: in a file, or the rules' decision."""

    platform: str
    state: str  # written, pending (in a file not yet written), eligible, held, excluded
    detail: str
    file: ExportFile | None = None

    @property
    def summary(self) -> str:
        if self.file is not None:
            return f"{self.state}: {self.file.path}"
        return self.state + (f": {self.detail}" if self.detail else "")


def _decided(platform: str, kind: str, decision) -> ExportStatus:
    detail = decision.reason
    if decision.state == "eligible":
        detail = f"goes out in the next run ({FILE_KINDS[kind].title})"
    elif decision.until:
        detail += f" (until {decision.until:%Y-%m-%d %H:%M} UTC)"
    return ExportStatus(platform, decision.state, detail)


def _ledgered(column, ids: list[int]) -> dict[tuple[int, str], ExportFile]:
    """Return the file of each (ID, platform) the ledger holds."""
    ledger = column.class_
    rows = db.session.execute(
        select(column, ledger.platform, ExportFile)
        .join(ExportFile, ExportFile.id == ledger.file_id)
        .where(column.in_(ids))
    )
    return {(subject_id, platform): file for subject_id, platform, file in rows}


def lead_export_status(lead: Lead, now: datetime | None = None) -> dict[tuple, list]:
    """Return {("conversion"|"adjustment", id): [ExportStatus per platform]} for the lead."""
    now = now or datetime.now(UTC)
    goals = {c.id: c.goal for c in lead.conversions}
    if not goals:
        return {}
    filed = {
        "conversion": _ledgered(ExportedConversion.conversion_id, list(goals)),
        "adjustment": _ledgered(ExportedAdjustment.adjustment_id,
                                [a.id for c in lead.conversions for a in c.adjustments]),
    }  # fmt: skip
    statuses: dict[tuple, list] = {}
    records = sources.conversions_by_id(list(goals))
    for platform, (name_field, option_field) in PLATFORMS.items():
        for record in records:
            goal = goals[record.id]
            if not getattr(goal, name_field):
                continue
            file = filed["conversion"].get((record.id, platform))
            if file is not None:
                status = ExportStatus(platform, file.status, "", file)
            else:
                duplicate = sources.earlier_duplicates(goal.id, platform, [record])
                facts = record.facts(platform, goal, duplicate.get(record.id))
                kind, decision = conversion_file(platform, facts, getattr(goal, option_field), now)
                status = _decided(platform, kind, decision)
            statuses.setdefault(("conversion", record.id), []).append(status)
        enabled = [i for i in goals if getattr(goals[i], name_field)]
        for record in sources.adjustments_by_conversion(enabled, platform) if enabled else []:
            file = filed["adjustment"].get((record.id, platform))
            if file is not None:
                status = ExportStatus(platform, file.status, "", file)
            else:
                status = _decided(platform, f"{platform}-adjustments",
                                  adjustment(platform, record.facts(None), now))  # fmt: skip
            statuses.setdefault(("adjustment", record.id), []).append(status)
    return statuses
