"""Entry point for `gunicorn wsgi:app`: production unless the environment says otherwise."""

import os

from app import create_app

os.environ.setdefault("CLOSELOOP_ENVIRONMENT", "production")
app = create_app()
