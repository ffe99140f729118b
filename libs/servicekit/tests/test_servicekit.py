"""Pieces of the service runtime that need no servers: redaction and problems (identity: test_identity.py)."""

from __future__ import annotations

import io
import json
import logging

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from wiser_servicekit.logs import JsonFormatter, redact
from wiser_servicekit.problems import Problem, install_problem_handlers


def test_redaction_masks_identifiers_dates_and_contacts() -> None:
    text = "mbi 9J06YC0QA26 born 1948-12-10 mail pa@example.org fax +12015550100"
    out = redact(text)
    for secret in ("9J06YC0QA26", "1948-12-10", "pa@example.org", "2015550100"):
        assert secret not in out


def test_redaction_leaves_ids_whole() -> None:
    # A UUID whose last group is all digits is an id to trace by, not a phone number.
    message_id = "6da4f2e5-0c4b-4734-a6af-051234567890"
    assert redact(f"message {message_id} parked") == f"message {message_id} parked"
    assert redact(f"{message_id}: call 5551234567") == f"{message_id}: call [PHONE]"


def test_json_logs_redact_phi_keys_and_query_strings() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("test"))
    logger = logging.getLogger("uvicorn.access.test")
    logger.addHandler(handler)
    logger.propagate = False
    logger.warning("GET /api/v1/ops/packets?q=Quillon HTTP/1.1", extra={"last_name": "Quillon", "packet_id": "p1"})
    line = json.loads(stream.getvalue())
    assert "Quillon" not in stream.getvalue()
    assert line["last_name"] == "[REDACTED]" and line["packet_id"] == "p1"


def test_query_strings_are_dropped_from_every_logger() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("test"))
    logger = logging.getLogger("httpx.test")
    logger.addHandler(handler)
    logger.propagate = False
    logger.warning('HTTP Request: GET http://intake/api/v1/ops/packets?limit=50&q=Ravensby "HTTP/1.1 200 OK"')
    assert "Ravensby" not in stream.getvalue() and "/api/v1/ops/packets" in stream.getvalue()


class Body(BaseModel):
    count: int


def test_errors_are_problem_json() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/x")
    def x(body: Body) -> dict[str, int]:
        raise Problem(409, "Conflict", "no", code="ILLEGAL_TRANSITION")

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret detail")

    client = TestClient(app, raise_server_exceptions=False)
    r = client.post("/x", json={"count": "many"})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == "count"
    r = client.post("/x", json={"count": 1})
    assert r.status_code == 409 and r.json()["code"] == "ILLEGAL_TRANSITION"
    r = client.get("/boom")
    assert r.status_code == 500 and "secret" not in r.text
    assert client.get("/nope").headers["content-type"] == "application/problem+json"
