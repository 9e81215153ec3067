"""Configuration: defaults in code, overrides from CLOSELOOP_* environment variables."""

import ipaddress
import os
import re

from flask import Flask

DEV_SECRET_KEY = "dev-only-secret-change-me"  # noqa: S105 - refused in production
POSTGRES_DRIVER = "postgresql+psycopg://"
POSTGRES_CONNECT_TIMEOUT = 3
REDIS_TIMEOUTS = {"socket_connect_timeout": 1, "socket_timeout": 1}


def defaults(app: Flask) -> dict:
    """Return the development defaults, with data kept under the instance folder."""
    return {
        "ENVIRONMENT": "development",
        "SECRET_KEY": DEV_SECRET_KEY,
        "DATABASE_URL": "sqlite:///" + os.path.join(app.instance_path, "closeloop.db"),
        "ALLOWED_ORIGINS": "",
        "PUBLIC_URL": "http://127.0.0.1:5000",
        "DEFAULT_COUNTRY": "US",
        "DEFAULT_TIMEZONE": "UTC",
        "EXPORT_DIR": os.path.join(app.instance_path, "exports"),
        "FEED_WINDOW_DAYS": 14,
        "FEED_RATE_LIMIT": "30 per minute",
        "API_RATE_LIMIT": "600 per minute",
        "RETENTION_DAYS": 400,
        "METRICS_TOKEN": "",
        "METRICS_NETWORKS": "",
        "RATELIMIT_STORAGE_URI": "memory://",
        "CLICK_RATE_LIMIT": "120 per minute",
        "LEAD_QUARANTINE_LIMIT": "10 per minute",
        "LEAD_RATE_LIMIT": "30 per minute",
        "HONEYPOT_FIELD": "_gotcha",
        "PROXY_COUNT": 0,
        "MAX_CONTENT_LENGTH": 64 * 1024,
        # Seconds a web request waits for PostgreSQL (wsgi.py sets 3); 0: no limit, for
        # `flask` commands such as the export, whose statements may take longer.
        "DATABASE_TIMEOUT": 0,
    }


def postgres_engine_options(timeout: float) -> dict:
    """Return the engine options that let the service ride out a PostgreSQL restart, and,
    with a `timeout` (the web's), give up on a slow or frozen server after that long."""
    # After a restart the pool holds dead connections: test each one before use. An
    # unreachable server must cost a request seconds, not a hung worker: give up connecting.
    options = {"pool_pre_ping": True,
               "connect_args": {"connect_timeout": POSTGRES_CONNECT_TIMEOUT}}  # fmt: skip
    if timeout:
        milliseconds = int(timeout * 1000)
        options["pool_timeout"] = timeout  # every pooled connection busy that long: 503
        # libpq's shortest; a frozen server costs it twice (sslmode=prefer tries SSL first).
        options["connect_args"]["connect_timeout"] = 2
        options["connect_args"]["options"] = (f"-c statement_timeout={milliseconds} "
                                              f"-c lock_timeout={milliseconds}")  # fmt: skip
    return options


def database_uri(url: str) -> str:
    """Return the SQLAlchemy URL for a database URL, using psycopg 3 for PostgreSQL."""
    return re.sub(r"^postgres(ql)?://", POSTGRES_DRIVER, url)


def parse_origins(value: str | list | tuple) -> tuple[str, ...]:
    """Return normalised origins from a list or a comma- or space-separated string."""
    items = re.split(r"[\s,]+", value) if isinstance(value, str) else value
    return tuple(item.strip().rstrip("/").lower() for item in items if item.strip())


def parse_networks(value: str | list | tuple) -> tuple:
    """Return IP networks from a list or a comma- or space-separated string (127.0.0.1/32)."""
    items = re.split(r"[\s,]+", value) if isinstance(value, str) else value
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip())


def configure(app: Flask, test_config: dict | None) -> None:
    """Load defaults, then the environment (or the test mapping), and check them."""
    app.config.from_mapping(defaults(app))
    if test_config is None:
        app.config.from_prefixed_env("CLOSELOOP", loads=str)
    else:
        app.config.from_mapping(test_config)
    config = app.config
    config["SQLALCHEMY_DATABASE_URI"] = database_uri(config["DATABASE_URL"])
    config["DATABASE_TIMEOUT"] = float(config["DATABASE_TIMEOUT"])
    if config["SQLALCHEMY_DATABASE_URI"].startswith(POSTGRES_DRIVER):
        options = postgres_engine_options(config["DATABASE_TIMEOUT"])
        config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", options)
    config["ALLOWED_ORIGINS"] = parse_origins(config["ALLOWED_ORIGINS"])
    config["PROXY_COUNT"] = int(config["PROXY_COUNT"])
    config["FEED_WINDOW_DAYS"] = int(config["FEED_WINDOW_DAYS"])
    config["RETENTION_DAYS"] = int(config["RETENTION_DAYS"])
    if config["RATELIMIT_STORAGE_URI"].startswith(("redis://", "rediss://")):
        # Counters only: while Redis is away each process counts alone (Flask-Limiter logs
        # the switch and its return), and a paused Redis costs a request a second at most.
        # A request caught at the switch, its counting half done, is not failed for it.
        config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
        config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
        config.setdefault("RATELIMIT_STORAGE_OPTIONS", REDIS_TIMEOUTS)
    config["METRICS_NETWORKS"] = parse_networks(config["METRICS_NETWORKS"])
    config["MAX_CONTENT_LENGTH"] = int(config["MAX_CONTENT_LENGTH"])
    production = config["ENVIRONMENT"] == "production"
    config["SESSION_COOKIE_SECURE"] = production
    config["PERMANENT_SESSION_LIFETIME"] = 12 * 3600
    config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if config["ENVIRONMENT"] not in ("development", "production"):
        raise RuntimeError("CLOSELOOP_ENVIRONMENT must be 'development' or 'production'.")
    if production and (config["SECRET_KEY"] == DEV_SECRET_KEY or len(config["SECRET_KEY"]) < 32):
        raise RuntimeError(
            "Refusing to start in production with the development secret key: set "
            "CLOSELOOP_SECRET_KEY to a random value of at least 32 characters, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'."
        )
