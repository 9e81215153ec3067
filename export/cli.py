"""`flask export run` (the nightly job) and `flask export status`."""

import gc
import sys
from datetime import UTC, datetime

import click
from flask import Blueprint, current_app
from sqlalchemy import func, select

from database import db
from export.models import ExportFile, ExportLock, ExportRun
from export.pipeline import pipeline
from export.platforms import PLATFORMS
from export.rules import EXCLUSIONS
from export.run import ExportBusy, ExportFailed, Report, run_export
from export.workers import default_jobs
from leads.models import Goal

bp = Blueprint("export_cli", __name__, cli_group="export")
EXIT_BUSY = 75  # EX_TEMPFAIL: cron may try again later


def print_report(report: Report, dry_run: bool) -> None:
    if dry_run:
        click.echo("Dry run: nothing was written or recorded.")
        for kind, rows in sorted(report.rows.items()):
            click.echo(f"  would write {rows} rows to {kind}")
    else:
        click.echo(f"Export run {report.run_id}: {len(report.files)} files.")
        for path in report.leftovers:
            click.echo(f"  removed {path}, left by a killed run")
        for file in report.files:
            click.echo(f"  {file.path}  {file.rows} rows  sha256 {file.sha256}")
    for kind, reasons in sorted(report.skipped.items()):
        for reason, count in reasons.most_common():
            click.echo(f"  {count} {kind} {reason}")


@bp.cli.command("run")
@click.option("--goal", "goals", multiple=True, help="Only this goal (by name); repeatable.")
@click.option("--platform", "platforms", multiple=True, type=click.Choice(tuple(PLATFORMS)),
              help="Only this platform; repeatable.")  # fmt: skip
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Export folder (default CLOSELOOP_EXPORT_DIR).")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Show what would be written; change nothing.")
@click.option("--jobs", type=click.IntRange(min=1), default=default_jobs, show_default="cores",
              help="Goals exported at once, each by its own process.")  # fmt: skip
def run_command(goals, platforms, out_dir, dry_run, jobs) -> None:
    """Write the new conversions and adjustments to upload files, once each."""
    out_dir = out_dir or current_app.config["EXPORT_DIR"]
    known = set(db.session.scalars(select(Goal.name).where(Goal.name.in_(goals))))
    if unknown := sorted(set(goals) - known):
        raise click.BadParameter(f"no goal named {', '.join(unknown)}", param_hint="--goal")
    # What the app loaded lives as long as the run: spare the collector from walking it
    # again and again while millions of short-lived rows come and go.
    gc.freeze()
    try:
        report = run_export(out_dir, goals, platforms, dry_run=dry_run, jobs=jobs)
    except ExportBusy as busy:
        click.echo(f"Not run: {busy}.", err=True)
        sys.exit(EXIT_BUSY)
    except ExportFailed as failed:
        raise click.ClickException(str(failed)) from failed
    print_report(report, dry_run)


@bp.cli.command("status")
def status_command() -> None:
    """Show the lock, the last runs, and what is not exported yet."""
    held = db.session.get(ExportLock, "export")
    click.echo(f"Lock: held by {held.holder} until {held.expires_at:%Y-%m-%d %H:%M:%S} UTC"
               if held and held.holder else "Lock: free")  # fmt: skip
    runs = db.session.scalars(select(ExportRun).order_by(ExportRun.id.desc()).limit(5)).all()
    for run in runs:
        rows = sum(file.rows for file in run.files)
        error = f"  {run.error}" if run.error else ""
        click.echo(f"Run {run.id}  {run.started_at:%Y-%m-%d %H:%M} UTC  {run.status}  "
                   f"{len(run.files)} files  {rows} rows{error}")  # fmt: skip
    pending = db.session.scalar(select(func.count()).where(ExportFile.status == "pending"))
    if pending:
        click.echo(f"{pending} files are pending: the next run writes them first.")
    for stage in pipeline(datetime.now(UTC)):
        click.echo(f"{stage.goal.name} / {stage.platform.name}: {stage.exported} exported")
        waiting = f"  waiting: {stage.waiting}"
        if stage.next_release:
            waiting += f", the next goes out from {stage.next_release:%Y-%m-%d %H:%M} UTC"
        click.echo(waiting)
        never = sum(stage.excluded.values())
        click.echo(f"  never (excluded for good): {never}")
        for code, count in stage.excluded.most_common():
            click.echo(f"    {count} {EXCLUSIONS[code]}")
