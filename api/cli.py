"""`flask conversions import FILE [--dry-run]`: the staff CSV import from the command line."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from flask import Blueprint, current_app

from api.csv_import import FileProblem, import_conversions

bp = Blueprint("conversions_cli", __name__, cli_group="conversions")


def _zone(ctx, param, value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        message = f"{value!r} is not an IANA time zone, such as Europe/Stockholm."
        raise click.BadParameter(message) from None
    return value


@bp.cli.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
@click.option("--dry-run", is_flag=True, help="Check every row and say what would change.")
@click.option("--timezone", default="UTC", show_default=True, callback=_zone,
              help="The zone of times written without an offset.")  # fmt: skip
def import_command(file, dry_run: bool, timezone: str) -> None:
    """Record the conversions of a CSV file: every row, or none when one has a problem."""
    try:
        result = import_conversions(file.read(), timezone, current_app.config["DEFAULT_COUNTRY"],
                                    datetime.now(UTC), None, apply=not dry_run)  # fmt: skip
    except FileProblem as problem:
        raise click.ClickException(str(problem)) from None
    for row in result.problems:
        for problem in row.problems:
            click.echo(f"line {row.number}: {problem}", err=True)
    counts = ", ".join(f"{result.count(outcome)} {outcome}"
                       for outcome in ("new", "new value", "unchanged"))  # fmt: skip
    if result.problems:
        raise click.ClickException(f"{len(result.problems)} rows have problems: nothing was "
                                   "recorded. Fix them and import the file again.")  # fmt: skip
    verb = "Would record" if dry_run else "Recorded"
    click.echo(f"{verb} {len(result.rows)} rows: {counts}.")
