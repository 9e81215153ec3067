"""`flask retention run`: erase and delete what is older than the retention period."""

from datetime import UTC, datetime

import click
from flask import Blueprint, current_app

from privacy.retention import run_retention

bp = Blueprint("retention_cli", __name__, cli_group="retention")


@bp.cli.command("run")
def run_command() -> None:
    """Erase leads older than CLOSELOOP_RETENTION_DAYS (keeping those whose conversions wait
    for export), delete clicks and export run folders that old, and say what was done."""
    config = current_app.config
    days = config["RETENTION_DAYS"]
    done = run_retention(datetime.now(UTC), days, config["EXPORT_DIR"])
    if done.busy:
        click.echo(f"An export or retention run holds the lease ({done.busy}): nothing done; "
                   "that run does the work.")  # fmt: skip
        return
    click.echo(f"Retention {days} days: erased {done.erased} leads (kept {done.kept_waiting} "
               f"whose conversions wait for export), deleted {done.clicks} clicks and "
               f"{done.run_folders} export run folders.")  # fmt: skip
