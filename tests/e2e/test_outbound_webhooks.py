"""Partner webhooks end to end: registered on intake's partner API, delivered by outbound, signed, retried.

A receiver in the test verifies every signature (PARTNER_API.md), sees each subscribed event with a stable
event_id, still gets them when it was down for the first attempts, and a private address is refused.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from wiser_contracts import messages as m
from wiser_servicekit.fixtures import packet_body
from wiser_servicekit.testing import Producers, eventually

from .conftest import OutboundSystem

pytestmark = pytest.mark.asyncio(loop_scope="session")


def verify(secret: str, header: str, body: bytes) -> bool:
    """What a partner does (PARTNER_API.md), written here from the document, not imported from outbound."""
    import hashlib
    import hmac

    parts = dict(p.split("=", 1) for p in header.split(","))
    mac = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, parts["v1"]) and abs(time.time() - int(parts["t"])) < 300


class Receiver:
    def __init__(self, port: int) -> None:
        self.port, self.secret = port, ""
        self.received: list[dict[str, Any]] = []
        self.bad_signatures = 0
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if verify(receiver.secret, self.headers.get("Wiser-Signature", ""), body):
                    receiver.received.append(json.loads(body))
                    self.send_response(204)
                else:
                    receiver.bad_signatures += 1
                    self.send_response(401)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def of(self, packet_id: str) -> list[dict[str, Any]]:
        return [e for e in self.received if e["packet"]["packet_id"] == packet_id]


async def _token(c: httpx.AsyncClient) -> dict[str, str]:
    r = await c.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "demo-partner", "client_secret": "demo-secret"},
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_webhooks_are_signed_stable_and_survive_a_receiver_down(outbound_system: OutboundSystem) -> None:
    sysm = outbound_system
    up, late = Receiver(sysm.receiver_ports[0]), Receiver(sysm.receiver_ports[1])
    up.start()
    producers = Producers(sysm.infra)
    try:
        async with httpx.AsyncClient(base_url=sysm.url, timeout=30) as c:
            partner = await _token(c)
            kinds = ["packet.transitioned", "packet.determined", "packet.reclassified", "letter.available"]
            r = await c.post(
                "/api/v1/webhooks",
                headers=partner,
                json={"url": f"http://127.0.0.1:{up.port}/hooks", "events": kinds},
            )
            assert r.status_code == 201, r.text
            up.secret = r.json()["secret"]
            r = await c.post(
                "/api/v1/webhooks",
                headers=partner,
                json={"url": f"http://127.0.0.1:{late.port}/hooks", "events": ["packet.determined"]},
            )
            assert r.status_code == 201, r.text
            late.secret = r.json()["secret"]
            # The registrations reach outbound by the bus: give them a moment before the packet moves.
            await _subscribed(sysm, 2)

            r = await c.post("/api/v1/packets", headers=partner, json=packet_body("Quillon", "Brightwater"))
            assert r.status_code == 201, r.text
            packet_id = r.json()["packet_id"]
            detail = await _ops_packet(sysm, packet_id)
            # Validation's dismissal (T4): the packet is determined, a partner-visible event of its own.
            await producers.publish(
                m.PacketValidated(
                    producer="validation",
                    packet_id=packet_id,
                    packet_version=detail["version"],
                    run=detail["validation_run"],
                    outcome=m.ValidationOutcome.DISMISS,
                    dismissal_reasons=(m.DismissalReason(code="NON_WISER_SERVICE", reason="not under WISeR"),),
                )
            )

            async def both_transitions() -> bool:
                got = {(e["type"], e["packet"]["state"]) for e in up.of(packet_id)}
                return {
                    ("packet.transitioned", "validating"),
                    ("packet.transitioned", "determined"),
                    ("packet.determined", "determined"),
                } <= got

            await eventually(both_transitions, timeout=30)
            events = up.of(packet_id)
            # The packet as it was: the first event still says validating, without a determination.
            first = next(e for e in events if e["packet"]["state"] == "validating")
            assert first["packet"]["determination"] is None and first["packet"]["dismissal"] is None
            determined = next(e for e in events if e["type"] == "packet.determined")
            assert determined["packet"]["dismissal"]["code"] == "NON_WISER_SERVICE"
            assert up.bad_signatures == 0

            # The late receiver was down: outbound tried, recorded each failure, and keeps the same event_id.
            async def failed_twice() -> Any:
                items = await _webhook_deliveries(sysm, packet_id)
                mine = [d for d in items if d["kind"] == "packet.determined" and len(d["attempts"]) >= 2]
                return mine

            tried = await eventually(failed_twice, timeout=30)
            waiting = [d for d in tried if d["status"] == "pending"]
            assert waiting and all(a["error"] for a in waiting[0]["attempts"])
            late.start()

            async def late_got_it() -> bool:
                return any(e["type"] == "packet.determined" for e in late.of(packet_id))

            await eventually(late_got_it, timeout=30)
            delivered = [e for e in late.of(packet_id) if e["type"] == "packet.determined"]
            up_determined = [e for e in up.of(packet_id) if e["type"] == "packet.determined"]
            # One event, one id, whoever receives it and however often it was tried.
            assert {e["event_id"] for e in delivered} == {e["event_id"] for e in up_determined}
            assert late.bad_signatures == 0

            # An expedited request whose urgency the reviewer did not confirm: `packet.reclassified`, now standard.
            body = packet_body("Quillon", "Brightwater", review_type="expedited", expedited_reason="severe pain")
            r = await c.post("/api/v1/packets", headers=partner, json=body)
            assert r.status_code == 201, r.text
            urgent = r.json()["packet_id"]
            detail = await _ops_packet(sysm, urgent)
            await producers.publish(
                m.PacketValidated(
                    producer="validation",
                    packet_id=urgent,
                    packet_version=detail["version"],
                    run=detail["validation_run"],
                    outcome=m.ValidationOutcome.PASSED,
                )
            )
            await _ops_packet(sysm, urgent, state="clinical_queue")
            await producers.publish(
                m.ReviewReclassified(
                    producer="clinical", packet_id=urgent, reviewer_id="nurse-1", reason="no risk to life or function"
                )
            )

            async def reclassified() -> Any:
                return [e for e in up.of(urgent) if e["type"] == "packet.reclassified"]

            (event,) = await eventually(reclassified, timeout=30)  # type: ignore[misc]
            assert event["packet"]["review_type"] == "standard" and event["packet"]["state"] == "clinical_queue"
            assert up.bad_signatures == 0
            got = {e["type"] for e in up.received}
            assert {"packet.transitioned", "packet.determined", "packet.reclassified"} <= got

            # Our own network is refused at the door (and checked again at every delivery).
            for url in ("http://10.0.0.8/hooks", "http://169.254.169.254/latest/meta-data", "http://localhost:9/x"):
                r = await c.post("/api/v1/webhooks", headers=partner, json={"url": url, "events": kinds})
                assert r.status_code == 422, (url, r.text)
            # No PHI in any log, and no signing secret either.
            logs = sysm.logs()
            for secret in ("Quillon", "Avery", "9J06YC0QA26", "1 Main St", up.secret, late.secret):
                assert secret not in logs
    finally:
        up.stop()
        late.stop()
        await producers.close()


async def _ops_packet(sysm: OutboundSystem, packet_id: str, state: str = "validating") -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=sysm.ops_url, timeout=30) as c:

        async def validating() -> Any:
            r = await c.get(f"/api/v1/ops/packets/{packet_id}", headers=sysm.staff("ops_tier1"))
            return r.json() if r.status_code == 200 and r.json()["state"] == state else None

        return await eventually(validating, timeout=20)  # type: ignore[return-value]


async def _webhook_deliveries(sysm: OutboundSystem, packet_id: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=sysm.outbound_url, timeout=30) as c:
        r = await c.get(
            "/api/v1/outbound/webhook-deliveries", params={"packet_id": packet_id}, headers=sysm.staff("ops_tier1")
        )
        assert r.status_code == 200, r.text
        return r.json()["items"]  # type: ignore[no-any-return]


async def _subscribed(sysm: OutboundSystem, n: int) -> None:
    """Wait until outbound holds `n` subscriptions (it has no partner-facing read; its database says)."""
    import asyncpg

    async def count() -> bool:
        conn = await asyncpg.connect(sysm.infra.dsn())
        try:
            return int(await conn.fetchval("SELECT count(*) FROM outbound.subscriptions WHERE removed_at IS NULL")) >= n
        finally:
            await conn.close()

    await eventually(count, timeout=20)
