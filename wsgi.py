"""Entry point for `gunicorn wsgi:app`: production, and a database budget per request,
unless the environment says otherwise."""

import os

from app import create_app

os.environ.setdefault("CLOSELOOP_ENVIRONMENT", "production")
os.environ.setdefault("CLOSELOOP_DATABASE_TIMEOUT", "3")  # a request gives up after 3 s: 503
app = create_app()
