"""Outbound's HTTP API on its own app: who may read and act, callbacks verified by signature (a duplicate is
harmless), "retry now" needs the person's bound command token, parked messages listed."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from wiser_contracts import messages as m
from wiser_contracts import topology
from wiser_outbound.bootstrap import create_app
from wiser_outbound.cli import SERVICE_ROOT
from wiser_outbound.config import Settings
from wiser_servicekit.identity import DEMO_PRIVATE_KEYS, GATEWAY, issue_command_token, issue_identity_token
from wiser_servicekit.migrate import migrate
from wiser_servicekit.testing import Infra

KEY = DEMO_PRIVATE_KEYS[GATEWAY]


def staff(*roles: str, user: str = "u1") -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_identity_token(KEY, user, roles)}"}


@pytest.fixture(scope="module")
async def client(infra: Infra) -> AsyncIterator[httpx.AsyncClient]:
    own = infra.derive(f"obapi{uuid.uuid4().hex[:6]}")
    settings = Settings(
        env="test",
        database_url=own.sqlalchemy_url("wiser_outbound"),
        database_admin_url=own.sqlalchemy_url(),
        amqp_url=own.amqp_url_for("outbound"),
        amqp_admin_url=own.amqp_url,
        poll_seconds=0.2,
    )
    await asyncio.to_thread(migrate, settings, SERVICE_ROOT, topology.OUTBOUND)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://outbound") as c:
            c.app = app  # type: ignore[attr-defined]
            c.infra = own  # type: ignore[attr-defined]
            yield c


async def test_reads_need_a_person_or_are_refused(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/outbound/deliveries")).status_code == 401
    r = await client.get("/api/v1/outbound/deliveries", headers=staff("ops_tier1"))
    assert r.status_code == 200 and r.json()["items"] == []
    assert (await client.get("/api/v1/outbound/webhook-deliveries", headers=staff("auditor"))).status_code == 200
    bad = await client.get("/api/v1/outbound/deliveries", params={"channel": "pigeon"}, headers=staff("ops_tier1"))
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"


async def test_retry_needs_a_senior_role_and_a_bound_command_token(client: httpx.AsyncClient) -> None:
    pid = uuid.uuid4()
    url = f"/api/v1/outbound/packets/{pid}/retry"
    body = {"fax": "+12015550123"}
    assert (await client.post(url, json=body, headers=staff("ops_tier1"))).status_code == 403
    r = await client.post(url, json=body, headers=staff("ops_tier2"))
    assert r.status_code == 403 and r.json()["code"] == "ON_BEHALF_REQUIRED"
    wrong = issue_command_token(KEY, "u1", ("ops_tier2",), uuid.uuid4(), m.RetryDelivery.TYPE)
    r = await client.post(url, json=body, headers={**staff("ops_tier2"), "X-Wiser-On-Behalf-Of": wrong})
    assert r.status_code == 403 and r.json()["code"] == "ON_BEHALF_INVALID"
    token = issue_command_token(KEY, "u1", ("ops_tier2",), pid, m.RetryDelivery.TYPE)
    r = await client.post(url, json=body, headers={**staff("ops_tier2"), "X-Wiser-On-Behalf-Of": token})
    assert r.status_code == 404 and r.json()["code"] == "DELIVERY_NOT_FOUND"
    r = await client.post(url, json={"fax": "12"}, headers={**staff("ops_tier2"), "X-Wiser-On-Behalf-Of": token})
    assert r.status_code == 422


def fax_callback(event: dict[str, Any], secret: str, t: int | None = None) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event).encode()
    t = t or int(time.time())
    sig = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {"X-Fax-Signature": f"t={t},v1={sig}", "Content-Type": "application/json"}


async def test_callbacks_are_verified_and_a_duplicate_is_harmless(client: httpx.AsyncClient) -> None:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    event = {"event_id": "evt_1", "fax_id": "fax_1", "client_reference": "wsr-unknown", "status": "delivered"}
    body, headers = fax_callback(event, "not-the-secret")
    assert (await client.post("/callbacks/fax", content=body, headers=headers)).status_code == 401
    body, headers = fax_callback(event, settings.fax_callback_secret, t=int(time.time()) - 3600)
    assert (await client.post("/callbacks/fax", content=body, headers=headers)).status_code == 401  # replayed
    body, headers = fax_callback(event, settings.fax_callback_secret)
    first = await client.post("/callbacks/fax", content=body, headers=headers)
    again = await client.post("/callbacks/fax", content=body, headers=headers)
    assert first.json() == {"result": "unknown"} and again.json() == {"result": "duplicate"}
    mail = json.dumps({"id": "evt_m", "event_type": "letter.accepted_for_mailing", "reference": "x"}).encode()
    sig = "sha256=" + hmac.new(settings.mail_callback_secret.encode(), mail, hashlib.sha256).hexdigest()
    r = await client.post("/callbacks/mail", content=mail, headers={"Mail-Signature": sig})
    assert r.status_code == 200
    r = await client.post("/callbacks/mail", content=b"{}", headers={"Mail-Signature": "sha256=00"})
    assert r.status_code == 401


async def test_parked_messages_are_listed_and_replayed_by_a_supervisor(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/outbound/parked", headers=staff("ops_tier1"))
    assert r.status_code == 200
    assert [q["queue"] for q in r.json()["queues"]] == ["outbound.dlq", "wiser.unrouted"]
    body = {"queue": "outbound.dlq"}
    assert (
        await client.post("/api/v1/outbound/parked/replay", json=body, headers=staff("ops_tier2"))
    ).status_code == 403
    r = await client.post("/api/v1/outbound/parked/replay", json=body, headers=staff("supervisor"))
    assert r.status_code == 200 and r.json()["replayed"] == 0
    r = await client.post("/api/v1/outbound/parked/replay", json={"queue": "intake.dlq"}, headers=staff("admin"))
    assert r.status_code == 422


async def test_a_parked_message_is_listed_with_why_and_when_and_a_replay_clears_the_record(
    client: httpx.AsyncClient,
) -> None:
    from wiser_servicekit.bus import Publisher
    from wiser_servicekit.testing import eventually

    own = client.infra  # type: ignore[attr-defined]
    forged = m.WebhookRemoved(producer="intake", webhook_id=uuid.uuid4(), client_id="demo-webhook")
    publisher = Publisher(own.amqp_url, "test")  # the admin user, not intake's: outbound must park it
    await publisher.publish_message(forged)
    await publisher.close()

    async def listed() -> dict[str, Any] | None:
        r = await client.get("/api/v1/outbound/parked", headers=staff("ops_tier1"))
        found = [x for x in r.json()["queues"][0]["messages"] if x["message_id"] == str(forged.message_id)]
        return found[0] if found and found[0].get("parked_at") else None

    parked: Any = await eventually(listed)
    assert parked["error_type"] == "ProducerNotAllowed"
    assert "intake.webhook.removed may not come from broker user" in parked["error"]
    first_parked_at = parked["parked_at"]

    park_log = client.app.state.bus.park_log  # type: ignore[attr-defined]
    r = await client.post("/api/v1/outbound/parked/replay", json={"queue": "outbound.dlq"}, headers=staff("supervisor"))
    assert r.status_code == 200 and r.json()["replayed"] >= 1
    # Replayed, it is parked again (still not from intake) with a fresh record; the old one is gone.
    again: Any = await eventually(listed)
    assert again["parked_at"] > first_parked_at
    records = await park_log.errors([str(forged.message_id)])
    assert records[str(forged.message_id)]["parked_at"] == again["parked_at"]
