"""Closeloop: the application factory."""

import os
import re

from flask import Flask
from flask_cors import CORS
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

import errors
import settings
from database import MAX_ID, db, render_migration_item
from deadlines import watch_engine
from extensions import csrf, limiter, migrate, public_marker


class RowId(IntegerConverter):
    """An `<int:...>` URL part that a row can have: anything larger is a 404, not a 500."""

    def __init__(self, url_map, **kwargs):
        super().__init__(url_map, min=1, max=MAX_ID)


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the Closeloop application."""
    app = Flask(__name__, instance_relative_config=True, static_folder=None)
    app.url_map.converters["int"] = RowId
    settings.configure(app, test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    if app.config["PROXY_COUNT"]:
        hops = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    db.init_app(app)
    postgres = app.config["SQLALCHEMY_DATABASE_URI"].startswith(settings.POSTGRES_DRIVER)
    if app.config["DATABASE_TIMEOUT"] and postgres:
        with app.app_context():
            watch_engine(db.engine, app.config["DATABASE_TIMEOUT"])
    migrate.init_app(
        app,
        db,
        directory=os.path.join(app.root_path, "migrations"),
        render_as_batch=True,
        render_item=render_migration_item,
    )
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)
    errors.register_error_handlers(app)
    from workspace.imports import allow_import_files

    app.before_request(allow_import_files)  # before CSRFProtect reads any form
    csrf.init_app(app)
    register_blueprints(app)
    if app.config["ENVIRONMENT"] == "development":
        from demo import views as demo_views

        app.register_blueprint(demo_views.bp)
    allow_cross_origin_calls(app)

    @app.get("/healthz")
    def healthz():
        """Report whether the service can reach its database."""
        try:
            db.session.execute(text("SELECT 1"))
        except SQLAlchemyError:
            db.session.rollback()
            return {"status": "unavailable", "database": "unreachable"}, 503
        return {"status": "ok", "database": "ok"}

    return app


def register_blueprints(app: Flask) -> None:
    """Register every feature's blueprints."""
    import metrics
    import openapi
    from api import cli as api_cli
    from api import views as api_views
    from capture import rejections
    from capture import views as capture_views
    from export import cli as export_cli
    from export import feeds, pages
    from leads import views as lead_views
    from privacy import cli as privacy_cli
    from privacy import pages as privacy_pages
    from staff import access, audit, auth, users
    from staff import cli as staff_cli

    # workspace.conversions adds its routes to the leads pages' blueprint.
    from workspace import conversions, dashboard, goals, imports, leads, tokens  # noqa: F401

    for blueprint in (capture_views.bp, lead_views.bp, feeds.bp, openapi.bp, metrics.bp,
                      api_views.bp, api_cli.bp, rejections.bp, auth.bp, users.bp, audit.bp,
                      staff_cli.bp, dashboard.bp, leads.bp, goals.bp, imports.bp, tokens.bp,
                      export_cli.bp, pages.bp, privacy_pages.bp, privacy_cli.bp):  # fmt: skip
        app.register_blueprint(blueprint)
    app.before_request(access.load_signed_in_staff)
    app.after_request(no_sniffing)
    app.after_request(rejections.count_refused_posts)
    app.after_request(access.protect_staff_pages)


def allow_cross_origin_calls(app: Flask) -> None:
    """Let pages of the allowed origins call the views marked public(cross_origin=True)."""
    routes = [re.escape(rule.rule) + "$" for rule in app.url_map.iter_rules()
              if (marker := public_marker(app.view_functions[rule.endpoint]))
              and marker.cross_origin]  # fmt: skip
    allowed = app.config["ALLOWED_ORIGINS"]
    any_origin = not allowed and app.config["ENVIRONMENT"] == "development"
    CORS(
        app,
        resources=dict.fromkeys(routes, {}),
        origins="*" if any_origin else list(allowed),
        allow_headers=["Content-Type", "Idempotency-Key"],
        max_age=86400,
    )


def no_sniffing(response):
    """Have browsers trust every answer's declared content type, never guess another."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
