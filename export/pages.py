"""Staff pages: export runs with their files and skips, downloads, and feed credentials."""

import os
from datetime import UTC, datetime

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from sqlalchemy import func, select

from database import db, row_id
from export.feeds import create_feed
from export.models import ExportFile, ExportRun, Feed, FeedFetch
from export.pipeline import excluded_conversions, pipeline
from export.platforms import PLATFORMS
from export.rules import EXCLUSIONS
from leads.models import Goal
from staff.access import editors_only, login_required, roles_required
from staff.audit import record
from staff.confirm import revoke, show_once, shown_once

bp = Blueprint("exports", __name__, url_prefix="/staff/exports", template_folder="templates")
RUNS_SHOWN = 50


@bp.get("/")
@login_required
def index():
    """Show where conversions stand per goal and platform, and the latest runs."""
    runs = db.session.scalars(select(ExportRun).order_by(ExportRun.id.desc()).limit(RUNS_SHOWN))
    pending = db.session.scalar(select(func.count()).where(ExportFile.status == "pending"))
    return render_template("export/runs.html", runs=runs.all(), pending=pending,
                           stages=pipeline(datetime.now(UTC)), exclusions=EXCLUSIONS)  # fmt: skip


@bp.get("/excluded")
@login_required
def excluded():
    """List the conversions of a goal that a platform will never take, for one reason."""
    goal = db.get_or_404(Goal, request.args.get("goal", type=row_id) or 0)
    platform = PLATFORMS.get(request.args.get("platform", ""))
    code = request.args.get("code", "")
    if platform is None or code not in EXCLUSIONS:
        abort(404, "Choose a platform and a reason from the Exports page.")
    listed = excluded_conversions(goal, platform, code, datetime.now(UTC))
    return render_template("export/excluded.html", goal=goal, platform=platform,
                           label=EXCLUSIONS[code], conversions=listed)  # fmt: skip


@bp.get("/runs/<int:run_id>")
@login_required
def run(run_id: int):
    """Show a run's files and the rows it held back or left out, by reason."""
    export_run = db.get_or_404(ExportRun, run_id)
    goals = {goal.id: goal for goal in db.session.scalars(select(Goal))}
    return render_template("export/run.html", run=export_run, goals=goals)


@bp.get("/files/<int:file_id>")
@editors_only
def download(file_id: int):
    """Send a written file; the path comes from the ledger, never from the request."""
    file = db.get_or_404(ExportFile, file_id)
    if file.status != "written":
        abort(404, "This file is not written yet: the next export run writes it.")
    folder = os.path.realpath(current_app.config["EXPORT_DIR"])
    # Resolved, so that neither "../" nor an absolute path nor a symlink in a tampered
    # ledger row reaches outside the export folder.
    target = os.path.realpath(os.path.join(folder, file.path))
    if os.path.commonpath([folder, target]) != folder:
        abort(404, "This file is not in the export folder.")
    if not os.path.isfile(target):
        abort(404, f"The file was written on {file.run.host}; it is not in this host's export "
                   "folder. Share one export folder between hosts.")  # fmt: skip
    record("export.download", "export_file", file.id)
    db.session.commit()
    return send_from_directory(folder, file.path, as_attachment=True,
                               mimetype="text/csv", max_age=0)  # fmt: skip


def _feeds_page(status=200):
    feeds = db.session.scalars(select(Feed).order_by(Feed.id)).all()
    once = shown_once()  # (feed id, password) right after the feed was created
    created, password = (db.session.get(Feed, int(once[0])), once[1]) if once else (None, None)
    last = dict(db.session.execute(
        select(FeedFetch.feed_id, func.max(FeedFetch.fetched_at))
        .where(FeedFetch.status == 200).group_by(FeedFetch.feed_id)
    ).all())  # fmt: skip
    goals = db.session.scalars(select(Goal).order_by(Goal.name)).all()
    return render_template("export/feeds.html", feeds=feeds, last_fetch=last, goals=goals,
                           platforms=PLATFORMS, created=created,
                           password=password), status  # fmt: skip


@bp.get("/feeds")
@roles_required("admin")
def feeds():
    """List the feeds and offer to create one."""
    return _feeds_page()


@bp.post("/feeds")
@roles_required("admin")
def add_feed():
    """Create a feed; the page after shows its password once."""
    goal = db.session.get(Goal, request.form.get("goal_id", type=row_id) or 0)
    platform = request.form.get("platform", "")
    if goal is None or platform not in PLATFORMS or not PLATFORMS[platform].goal_name(goal):
        flash("Choose a goal and a platform the goal is set up for.", "error")
        return _feeds_page(status=400)
    feed, password = create_feed(goal, platform, g.staff.id, datetime.now(UTC))
    record("feed.create", "feed", feed.id, None,
           {"platform": platform, "goal": goal.name, "username": feed.username})  # fmt: skip
    db.session.commit()
    show_once(str(feed.id), password)
    return redirect(url_for("exports.feeds"))


@bp.post("/feeds/<int:feed_id>/revoke")
@roles_required("admin")
def revoke_feed(feed_id: int):
    """Stop a feed's credentials from working, for good."""
    feed = db.get_or_404(Feed, feed_id)
    return revoke(
        feed, "feed", f"the feed {feed.platform}/{feed.slug}",
        "Its user name and password stop working for good; the platform's scheduled import "
        "fails until it is given a new feed.", url_for("exports.feeds"),
    )  # fmt: skip
