"""Public capture endpoints: the script and click registration."""

from datetime import UTC, datetime
from functools import lru_cache

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import Forbidden

from capture.models import insert_new_clicks
from capture.origins import request_origin_allowed
from capture.params import PARAMS_BY_KEY, find_param
from capture.payload import read_pairs
from capture.schemas import CLICK_REPORT
from capture.script import SOURCE, BuiltScript, build_script
from database import write_transaction
from extensions import limiter, public

bp = Blueprint("capture", __name__)

SCRIPT_MAX_AGE = 3600


@lru_cache(maxsize=1)
def _script_for(mtime: float) -> BuiltScript:
    return build_script()


def served_script() -> BuiltScript:
    """Return the built script, rebuilt when the source file changes."""
    return _script_for(SOURCE.stat().st_mtime)


@bp.get("/capture.js")
def script():
    """Serve the capture script, minified, gzipped when the client accepts it."""
    built = served_script()
    gzipped = "gzip" in request.accept_encodings
    response = Response(built.gzipped if gzipped else built.minified, mimetype="text/javascript")
    if gzipped:
        response.content_encoding = "gzip"
    response.vary.add("Accept-Encoding")
    response.set_etag(built.etag + ("-gz" if gzipped else ""))
    response.last_modified = datetime.fromtimestamp(int(built.mtime), UTC)
    response.cache_control.public = True
    response.cache_control.max_age = SCRIPT_MAX_AGE
    return response.make_conditional(request)


def _click_rate_limit() -> str:
    return current_app.config["CLICK_RATE_LIMIT"]


@bp.post("/capture/clicks")
@public(cross_origin=True, counted=True)
@limiter.limit(_click_rate_limit)
def register_click():
    """Record each new click ID with the time the service first saw it."""
    if not request_origin_allowed():
        raise Forbidden("This origin may not report clicks; add it to CLOSELOOP_ALLOWED_ORIGINS.")
    report = {}
    for name, value in read_pairs(request):
        param = find_param(str(name))
        report[param.name if param else name] = value
    report = CLICK_REPORT.load(report)
    now = datetime.now(UTC)
    rows = [
        {
            "platform": PARAMS_BY_KEY[name].platform,
            "param": name,
            "click_id": value,
            "first_seen": now,
            "landing_url": report["landing_url"],
        }
        for name, value in report.items()
        if name != "landing_url"
    ]
    with write_transaction() as connection:
        connection.execute(insert_new_clicks(connection.dialect.name), rows)
    return "", 204
