"""Keep personal data no longer than needed: `flask retention run`, nightly beside the export.

Leads older than CLOSELOOP_RETENTION_DAYS are erased (privacy.erasure), except a lead with
a conversion that still waits for a platform (in no written file, not excluded); recorded
clicks that old go, unless a kept lead's click ID points at one; so do the files of export
runs that old (their ledger rows stay). It runs under the export's lease, so that many
hosts may start it at once and one does the work.
"""

import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, or_, select, update

from capture.models import Click
from database import db
from export import lock, sources
from export.lock import LEASE
from export.models import ExportRun
from export.platforms import PLATFORMS
from leads.models import ERASED, Conversion, Goal, Lead, LeadClickId
from privacy.erasure import erase_lead

BATCH = 500


@dataclass
class Retention:
    erased: int = 0
    kept_waiting: int = 0  # old leads kept because a conversion still waits for export
    clicks: int = 0
    run_folders: int = 0
    busy: str | None = None  # who held the lease when this run found it taken


def waiting_conversion():
    """Return the condition that a lead has a conversion some platform of its goal has not
    settled: in no written file and not excluded for good."""
    return exists().where(
        Conversion.lead_id == Lead.id, Goal.id == Conversion.goal_id,
        or_(*(and_(platform.goal_name(Goal).is_not(None), sources.unsettled(platform))
              for platform in PLATFORMS.values())),
    )  # fmt: skip


def run_retention(now: datetime, days: int, export_dir: str) -> Retention:
    """Erase and delete what is older than `days`; commits as it goes."""
    cutoff = now - timedelta(days=days)
    result = Retention()
    holder = lock.acquire(LEASE)
    if holder is not None:
        result.busy = holder
        return result
    try:
        old = (Lead.created_at < cutoff, Lead.status != ERASED)
        result.kept_waiting = db.session.scalar(
            select(db.func.count()).select_from(Lead).where(*old, waiting_conversion())
        )  # fmt: skip
        while leads := db.session.scalars(
            select(Lead).where(*old, ~waiting_conversion()).order_by(Lead.id).limit(BATCH)
        ).all():  # fmt: skip
            lock.renew(LEASE)
            for lead in leads:
                erase_lead(lead, now)
            db.session.commit()
            result.erased += len(leads)
        result.clicks = _delete_clicks(cutoff)
        result.run_folders = _delete_run_folders(cutoff, export_dir)
    finally:
        lock.release()
    return result


def _delete_clicks(cutoff: datetime) -> int:
    """Delete recorded clicks older than the cutoff that no kept lead points at."""
    old = Click.first_seen < cutoff
    erased_leads = select(Lead.id).where(Lead.status == ERASED)
    db.session.execute(
        update(LeadClickId)
        .where(LeadClickId.lead_id.in_(erased_leads),
               LeadClickId.click_ref.in_(select(Click.id).where(old)))
        .values(click_ref=None)
    )  # fmt: skip
    deleted = db.session.execute(
        delete(Click).where(old, ~exists().where(LeadClickId.click_ref == Click.id))
    ).rowcount  # fmt: skip
    db.session.commit()
    return deleted


def _delete_run_folders(cutoff: datetime, export_dir: str) -> int:
    """Delete the folders of export runs started before the cutoff; return how many."""
    removed = 0
    for run in db.session.scalars(select(ExportRun).where(ExportRun.started_at < cutoff)):
        folder = os.path.join(export_dir, run.folder)
        if os.path.isdir(folder):
            shutil.rmtree(folder)
            removed += 1
    return removed
