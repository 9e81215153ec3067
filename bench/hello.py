"""The baseline for bench/intake.py: a hello-world Flask POST route, nothing stored."""

import secrets

from flask import Flask, request

app = Flask(__name__)


@app.post("/leads")
def create():
    """Parse the JSON body and answer as intake does, without storing anything."""
    request.get_json()
    return {"id": secrets.token_hex(16), "status": "received"}, 201


@app.get("/healthz")
def healthz():
    """Answer that the server is up."""
    return {"status": "ok"}
