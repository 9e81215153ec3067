"""Feeds the ad platforms fetch on their schedule: `GET /feeds/<platform>/<goal>.csv`.

Each feed has its own HTTP Basic user name and password. The password is shown once and
stored as a SHA-256 digest: it is 32 random bytes, so a slow hash would add nothing. A feed
serves a rolling window of the goal's recent eligible conversions; the platforms ignore
rows they have seen, so a missed fetch heals itself.
"""

import hashlib
import hmac
import re
import secrets
from collections import deque
from datetime import UTC, datetime, timedelta

from flask import Blueprint, Response, abort, current_app, request
from sqlalchemy import select

from capture.payload import storable_text
from database import db
from export import sources
from export.assign import MAX_ROWS_PER_FILE, goal_slug
from export.fates import decide_conversions
from export.formats import FILE_KINDS
from export.models import Feed, FeedFetch
from export.platforms import PLATFORMS
from extensions import limiter
from leads.models import Goal

bp = Blueprint("feeds", __name__)

SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
# Compared against when no feed matches, so that a miss costs what a hit costs.
UNKNOWN_FEED_DIGEST = hashlib.sha256(b"no such feed").hexdigest()


def create_feed(goal: Goal, platform: str, actor_id: int, now: datetime) -> tuple[Feed, str]:
    """Create a feed with fresh credentials (no commit); return it and its password."""
    slug, taken = goal_slug(goal), 1
    while db.session.scalar(select(Feed.id).where(Feed.platform == platform, Feed.slug == slug)):
        taken += 1
        slug = f"{goal_slug(goal)[:56]}-{taken}"
    password, username = secrets.token_urlsafe(32), f"feed-{secrets.token_hex(6)}"
    feed = Feed(platform=platform, slug=slug, goal=goal, created_at=now, created_by=actor_id,
                username=username, password_sha256=digest(password))  # fmt: skip
    db.session.add(feed)
    db.session.flush()
    return feed, password


def digest(password: str) -> str:
    return hashlib.sha256(password.encode("utf-8")).hexdigest()


def authenticated(feed: Feed | None) -> bool:
    """Check the request's Basic credentials against the feed, in constant time."""
    auth = request.authorization
    username = (auth.username or "") if auth and auth.type == "basic" else ""
    password = (auth.password or "") if auth and auth.type == "basic" else ""
    expected_user = feed.username if feed else ""
    expected_digest = feed.password_sha256 if feed else UNKNOWN_FEED_DIGEST
    user_ok = hmac.compare_digest(username.encode("utf-8"), expected_user.encode("utf-8"))
    password_ok = hmac.compare_digest(digest(password), expected_digest)
    return bool(feed and feed.revoked_at is None and user_ok and password_ok and username)


def feed_text(feed: Feed, now: datetime) -> tuple[str, int]:
    """Return the feed's file and its row count: the window's rows that are out, 100,000 at most."""
    goal, platform = feed.goal, PLATFORMS[feed.platform]
    kind = platform.feed_file(goal)
    since = now - timedelta(days=current_app.config["FEED_WINDOW_DAYS"])
    rows: deque = deque(maxlen=MAX_ROWS_PER_FILE)  # the newest, when there are more
    for batch in sources.recent_conversions(goal.id, since, platform.name):
        for record, chosen, fate in decide_conversions(goal, platform, batch, now):
            if chosen == kind and fate.state == "out":
                rows.append(record.row(platform, kind, platform.goal_name(goal)))
    optional = platform.option(goal) if kind == "microsoft-conversions" else any(
        row.gbraid or row.wbraid for row in rows
    )  # fmt: skip
    return FILE_KINDS[kind].render(rows, optional), len(rows)


def _log(feed: Feed | None, status: int, rows: int | None, now: datetime) -> None:
    user_agent = storable_text(request.user_agent.string)[:255]  # NUL: PostgreSQL refuses it
    db.session.add(FeedFetch(feed_id=feed.id if feed else None, fetched_at=now, status=status,
                             rows=rows, remote_addr=request.remote_addr,
                             user_agent=user_agent))  # fmt: skip
    db.session.commit()


def _feed_rate_limit() -> str:
    return current_app.config["FEED_RATE_LIMIT"]


@bp.get("/feeds/<any(microsoft, google):platform>/<name>.csv")
@limiter.limit(_feed_rate_limit, deduct_when=lambda response: response.status_code == 401)
def fetch(platform: str, name: str):
    """Serve a feed to a platform that gives the feed's credentials."""
    now = datetime.now(UTC)
    feed = None
    if SLUG.fullmatch(name):
        feed = db.session.scalar(select(Feed).where(Feed.platform == platform, Feed.slug == name))
    if not authenticated(feed):
        _log(feed, 401, None, now)
        response = Response("Authentication required.\n", 401, mimetype="text/plain")
        response.headers["WWW-Authenticate"] = 'Basic realm="Closeloop feed", charset="UTF-8"'
        return response
    if not PLATFORMS[platform].goal_name(feed.goal):
        _log(feed, 404, None, now)
        abort(404, "This goal is no longer set up for the platform.")
    text, rows = feed_text(feed, now)
    _log(feed, 200, rows, now)
    response = Response(text.encode("utf-8"), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{feed.slug}.csv"'
    response.cache_control.no_store = True
    return response
