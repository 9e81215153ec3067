"""The baseline for bench/load.py and bench/api.py: hello-world Flask routes that parse the
JSON body and answer, storing nothing."""

import secrets

from flask import Flask, request

app = Flask(__name__)


@app.post("/leads")
def create():
    """Parse the JSON body and answer as intake does, without storing anything."""
    request.get_json()
    return {"id": secrets.token_hex(16), "status": "received"}, 201


@app.post("/capture/clicks")
def register_click():
    """Parse the JSON body and answer as click registration does, storing nothing."""
    request.get_json()
    return "", 204


@app.put("/api/v1/conversions/<external_id>")
def put_conversion(external_id: str):
    """Parse the JSON body and answer as the conversions API does, storing nothing."""
    request.get_json()
    return {"id": secrets.randbelow(2**31), "external_id": external_id}, 201


@app.get("/healthz")
def healthz():
    """Answer that the server is up."""
    return {"status": "ok"}
