"""GET /metrics for Prometheus: leads, clicks, refused posts, conversions by state, export
runs and the age of the last good one.

Every figure is read from the database when Prometheus asks, so any number of gunicorn
workers and hosts give the same answer; nothing is counted in a process. Closed unless
CLOSELOOP_METRICS_TOKEN (Authorization: Bearer, as Prometheus sends it) or
CLOSELOOP_METRICS_NETWORKS (addresses allowed without a token) is set.
"""

import hmac
import ipaddress
from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import func, select
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Forbidden, NotFound, Unauthorized

from api.tokens import bearer_token
from capture.models import Click
from capture.rejections import Rejection
from database import db
from export import sources
from export.models import ExcludedConversion, ExportedConversion, ExportFile, ExportRun
from export.platforms import PLATFORMS
from extensions import public
from leads.models import Conversion, Goal, Lead

bp = Blueprint("metrics", __name__)


class DatabaseCollector:
    """The service's figures as the database holds them now."""

    def collect(self):
        leads = GaugeMetricFamily("closeloop_leads", "Stored leads, by status.", labels=["status"])
        for status, count in db.session.execute(
            select(Lead.status, func.count()).group_by(Lead.status)
        ):  # fmt: skip
            leads.add_metric([status], count)
        yield leads
        clicks = db.session.scalar(select(func.count()).select_from(Click))
        yield GaugeMetricFamily("closeloop_clicks", "Recorded ad clicks.", value=clicks)
        refused = CounterMetricFamily("closeloop_refused_posts", "Refused public posts.",
                                      labels=["endpoint", "reason"])  # fmt: skip
        for endpoint, reason, count in db.session.execute(
            select(Rejection.endpoint, Rejection.reason, func.sum(Rejection.count))
            .group_by(Rejection.endpoint, Rejection.reason)
        ):  # fmt: skip
            refused.add_metric([endpoint, reason], count)
        yield refused
        yield _conversions()
        yield from _export_runs()


def _conversions() -> GaugeMetricFamily:
    """Conversions per platform: exported (in a written file), excluded for good, or
    waiting (no run has settled them yet)."""
    family = GaugeMetricFamily("closeloop_conversions", "Conversions by platform and state.",
                               labels=["platform", "state"])  # fmt: skip
    for platform in PLATFORMS.values():
        of_platform = select(func.count()).select_from(Conversion).join(Goal).where(
            platform.goal_name(Goal).is_not(None)
        )  # fmt: skip
        exported = (
            of_platform.join(ExportedConversion,
                             ExportedConversion.conversion_id == Conversion.id)
            .join(ExportFile)
            .where(ExportedConversion.platform == platform.name, ExportFile.status == "written")
        )  # fmt: skip
        excluded = of_platform.join(
            ExcludedConversion, ExcludedConversion.conversion_id == Conversion.id
        ).where(ExcludedConversion.platform == platform.name)
        waiting = of_platform.where(sources.unsettled(platform))
        for state, query in (("exported", exported), ("excluded", excluded),
                             ("waiting", waiting)):  # fmt: skip
            family.add_metric([platform.name, state], db.session.scalar(query))
    return family


def _export_runs():
    runs = CounterMetricFamily("closeloop_export_runs", "Export runs, by how they ended.",
                               labels=["status"])  # fmt: skip
    for status, count in db.session.execute(
        select(ExportRun.status, func.count()).group_by(ExportRun.status)
    ):  # fmt: skip
        runs.add_metric([status], count)
    yield runs
    last = db.session.scalar(select(func.max(ExportRun.finished_at))
                             .where(ExportRun.status == "finished"))  # fmt: skip
    if last is not None:
        yield GaugeMetricFamily("closeloop_last_good_export_timestamp_seconds",
                                "When the last export run that finished well ended.",
                                value=last.timestamp())  # fmt: skip
        yield GaugeMetricFamily("closeloop_last_good_export_age_seconds",
                                "Seconds since the last export run that finished well.",
                                value=(datetime.now(UTC) - last).total_seconds())  # fmt: skip


def allow_scrape() -> None:
    """Let a scrape through with the token or from an allowed network; else refuse it."""
    config = current_app.config
    token, networks = config["METRICS_TOKEN"], config["METRICS_NETWORKS"]
    if not token and not networks:
        raise NotFound("Metrics are off: set CLOSELOOP_METRICS_TOKEN or _METRICS_NETWORKS.")
    sent = bearer_token()
    if token and sent and hmac.compare_digest(sent.encode(), token.encode()):
        return
    address = ipaddress.ip_address(request.remote_addr or "0.0.0.0")  # noqa: S104
    if any(address in network for network in networks):
        return
    if token:
        raise Unauthorized("Send the metrics token: Authorization: Bearer <token>.",
                           www_authenticate=WWWAuthenticate("bearer"))  # fmt: skip
    raise Forbidden("This address may not read the metrics.")


@bp.get("/metrics")
@public()
def scrape():
    """Answer Prometheus with the figures in its text format."""
    allow_scrape()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector())
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
