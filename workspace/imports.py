"""Import conversions from a CSV file (sales, admin): preview every row, then record all
of them or none. Applying the same file again changes nothing."""

from datetime import UTC, datetime

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for

from api.csv_import import COLUMNS, FileProblem, import_conversions
from staff.access import editors_only

bp = Blueprint("imports", __name__, url_prefix="/staff/conversions/import",
               template_folder="templates")  # fmt: skip
MAX_FILE_BYTES = 4 * 1024 * 1024


def allow_import_files() -> None:
    """Let the import take files larger than other posts (run before any form is read)."""
    if request.endpoint in ("imports.preview", "imports.apply"):
        request.max_content_length = MAX_FILE_BYTES


@bp.get("/")
@editors_only
def index():
    """Show the upload form and what the file's columns are."""
    return render_template("workspace/import.html", columns=COLUMNS)


@bp.post("/preview")
@editors_only
def preview():
    """Try every row of the uploaded file and show what applying it would do."""
    upload = request.files.get("file")
    text = _text(upload.read()) if upload and upload.filename else None
    if text is None:
        return _refused("Choose a CSV file saved as UTF-8.")
    return _result_page(text, apply=False)


@bp.post("/apply")
@editors_only
def apply():
    """Record every row of the previewed file, or none if one has a problem now."""
    text = request.form.get("csv", "")
    result = _run(text, apply=True)
    if isinstance(result, str):
        return _refused(result)
    if not result.applied:
        return _result_page(text, apply=False, status=422)
    flash(f"Recorded {len(result.rows)} rows: {result.count('new')} new, "
          f"{result.count('new value')} with a new value, {result.count('unchanged')} "
          "unchanged.", "success")  # fmt: skip
    return redirect(url_for("imports.index"))


def _text(data: bytes) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _run(text: str, apply: bool):
    try:
        return import_conversions(text, g.staff.timezone, current_app.config["DEFAULT_COUNTRY"],
                                  datetime.now(UTC), g.staff.id, apply)  # fmt: skip
    except FileProblem as problem:
        return str(problem)


def _result_page(text: str, apply: bool, status: int = 200):
    result = _run(text, apply)
    if isinstance(result, str):
        return _refused(result)
    return render_template("workspace/import_preview.html", result=result, csv=text,
                           status=status), 422 if result.problems else status  # fmt: skip


def _refused(message: str):
    return render_template("workspace/import.html", columns=COLUMNS, error=message), 422
