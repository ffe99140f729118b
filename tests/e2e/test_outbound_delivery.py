"""Letters delivered by outbound through the running system (intake, validation, letters, outbound, the gateway,
the sandbox's providers): each channel from `delivering` to `closed`; a fax provider down past the budget gives
`delivery_failed` and an ops retry with a corrected number closes the packet; outbound SIGKILLed mid-send,
once per channel, sends nothing twice and loses nothing; in a browser, ops finds the failed fax, corrects the
number, retries it and watches the packet close.

Dismissals need no clinical review, so a gold-card practitioner's request (validation dismisses it,
EXEMPT_PROVIDER) is what these tests deliver. They need the letters service, and skip where it is not built.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from wiser_servicekit.fixtures import packet_body

from .conftest import FullSystem, OutboundProcess

LETTERS_BUILT = importlib.util.find_spec("wiser_letters.cli") is not None
pytestmark = [
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.skipif(
        not LETTERS_BUILT,
        reason="outbound delivers approved letter sets from the letters service (GET /api/v1/letter-sets/by-packet/"
        "{id}, /letters/{id}/pdf); letters is not built in this tree yet",
    ),
]
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
CHANNEL_OF = {"fax": "fax", "mail": "mail", "esmd": "esmd", "portal": "email"}
RECORD_KEY = {"fax": "client_reference", "mail": "idempotency_key", "esmd": "unique_id", "email": "message_id"}


async def eventually(check: Any, timeout: float = 60.0, interval: float = 0.3) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    last: Any = None
    while asyncio.get_running_loop().time() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"not reached in {timeout}s (last: {last!r})")


class Flow:
    def __init__(self, sysm: FullSystem, http: httpx.AsyncClient, outbound: OutboundProcess) -> None:
        self.sysm, self.http, self.outbound = sysm, http, outbound
        self.tokens: dict[str, dict[str, str]] = {}

    async def partner(self, channel: str) -> dict[str, str]:
        client = "demo-partner" if channel == "api" else f"demo-{channel}"
        if client not in self.tokens:
            r = await self.http.post(
                f"{self.sysm.url}/oauth/token",
                data={"grant_type": "client_credentials", "client_id": client, "client_secret": "demo-secret"},
            )
            assert r.status_code == 200, r.text
            self.tokens[client] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        return self.tokens[client]

    async def submit(self, channel: str, fax: str = "+12015550111") -> str:
        body = packet_body("Sorelli", "Pryce", code="64581", dx="N39.41")  # a gold card: dismissed
        body["external_ref"] = "OUT-" + uuid.uuid4().hex[:8]
        body["requester"]["fax"] = fax
        r = await self.http.post(
            f"{self.sysm.url}/api/v1/packets",
            headers=await self.partner(channel),
            data={"packet": json.dumps(body)},
            files=[("documents", ("note.pdf", PDF, "application/pdf"))],
        )
        assert r.status_code == 201, r.text
        return str(r.json()["packet_id"])

    async def state(self, pid: str) -> str:
        r = await self.http.get(f"{self.sysm.ops_url}/api/v1/ops/packets/{pid}", headers=self.sysm.staff("supervisor"))
        assert r.status_code == 200, r.text
        return str(r.json()["state"])

    async def reaches(self, pid: str, state: str, timeout: float = 60) -> None:
        async def there() -> bool:
            return await self.state(pid) == state

        await eventually(there, timeout)

    async def approve(self, pid: str) -> None:
        """A person approves the drafted set (T14): the packet is `delivering`."""
        await self.reaches(pid, "letter_review")
        url = f"{self.sysm.letters_url}/api/v1/letter-sets/by-packet/{pid}"  # type: ignore[attr-defined]

        async def drafted() -> Any:
            r = await self.http.get(url, headers=self.sysm.staff("supervisor"))
            return r.json() if r.status_code == 200 and r.json()["status"] == "drafted" else None

        s = await eventually(drafted)
        r = await self.http.post(
            f"{self.sysm.letters_url}/api/v1/letter-sets/{s['set_id']}/approve",  # type: ignore[attr-defined]
            headers=self.sysm.staff("supervisor", user="u-approver"),
            json={"version": s["version"]},
        )
        assert r.status_code == 200, r.text

    async def deliveries(self, pid: str) -> dict[str, Any]:
        r = await self.http.get(
            f"{self.sysm.outbound_url}/api/v1/outbound/packets/{pid}/deliveries", headers=self.sysm.staff("ops_tier1")
        )
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    async def recorded(self, peer: str) -> list[dict[str, Any]]:
        r = await self.http.get(f"{self.sysm.sandbox_url}/_sandbox/outbound/{peer}")
        return r.json()["received"]  # type: ignore[no-any-return]

    async def fault(self, peer: str, mode: str, count: int | None = None, delay: float = 5.0) -> None:
        body: dict[str, Any] = {"peer": peer, "mode": mode, "delay_seconds": delay}
        if count:
            body["count"] = count
        r = await self.http.post(f"{self.sysm.sandbox_url}/_sandbox/faults", json=body)
        assert r.status_code == 200, r.text

    async def clear_faults(self) -> None:
        await self.http.delete(f"{self.sysm.sandbox_url}/_sandbox/faults")


@pytest.fixture(scope="module")
async def flow(full_system: FullSystem, full_outbound: OutboundProcess) -> AsyncIterator[Flow]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield Flow(full_system, http, full_outbound)


def references(copies: list[dict[str, Any]], recipient: str) -> list[str]:
    return [c["reference"] for c in copies if c["recipient"] == recipient]


@pytest.mark.parametrize("channel", ["fax", "mail", "esmd", "portal"])
async def test_each_channel_from_delivering_to_closed(flow: Flow, channel: str) -> None:
    pid = await flow.submit(channel)
    await flow.approve(pid)
    await flow.reaches(pid, "closed")
    (d,) = (await flow.deliveries(pid))["deliveries"]
    assert d["status"] == "completed"
    via = {c["recipient"]: c["channel"] for c in d["copies"]}
    assert via == {"requester": CHANNEL_OF[channel], "beneficiary": "mail"}
    ref = references(d["copies"], "requester")[0]
    peer = CHANNEL_OF[channel]
    key = RECORD_KEY[peer]
    wanted = f"{ref}@wiser.example" if peer == "email" else ref
    got = [e for e in await flow.recorded(peer) if e.get(key) == wanted]
    assert len(got) == 1
    if peer == "esmd":
        assert got[0]["decision"] == "N" and got[0]["content_types"] == ["20"] and got[0]["is_pdf"]
    if peer == "email":
        assert got[0]["tls"] and got[0]["content_types"] == ["text/plain"] and "Sorelli" not in got[0]["text"]
    mailed = [
        e for e in await flow.recorded("mail") if e["idempotency_key"] == references(d["copies"], "beneficiary")[0]
    ]
    assert len(mailed) == 1 and mailed[0]["is_pdf"]


async def test_a_fax_provider_down_past_the_budget_then_an_ops_retry_with_a_corrected_number(flow: Flow) -> None:
    await flow.fault("fax", "down")
    try:
        pid = await flow.submit("fax", fax="+12015550199")
        await flow.approve(pid)
        await flow.reaches(pid, "delivery_failed", timeout=90)
    finally:
        await flow.clear_faults()
    (d,) = (await flow.deliveries(pid))["deliveries"]
    fax = next(c for c in d["copies"] if c["channel"] == "fax")
    assert d["status"] == "failed" and fax["status"] == "failed" and fax["attempts"]
    retry_url = f"{flow.sysm.outbound_url}/api/v1/outbound/packets/{pid}/retry"
    token = flow.sysm.on_behalf(pid, "intake.retry_delivery", "ops_tier2", user="u-ops2")
    headers = {**flow.sysm.staff("ops_tier2", user="u-ops2"), "X-Wiser-On-Behalf-Of": token}
    r = await flow.http.post(retry_url, json={"fax": "+12015550123"}, headers=headers)
    assert r.status_code == 202, r.text
    await flow.reaches(pid, "closed")
    rounds = (await flow.deliveries(pid))["deliveries"]
    assert [x["status"] for x in rounds] == ["completed", "failed"]
    again = next(c for c in rounds[0]["copies"] if c["channel"] == "fax")
    assert again["destination"] == "+12015550123"


@pytest.mark.parametrize("channel", ["fax", "mail", "esmd", "portal"])
async def test_outbound_killed_mid_send_sends_nothing_twice_and_loses_nothing(flow: Flow, channel: str) -> None:
    """The provider takes the copy and answers late; outbound is SIGKILLed before the answer, then restarted."""
    peer = CHANNEL_OF[channel]
    before = len(await flow.recorded(peer))
    await flow.fault(peer, "late", count=1, delay=4)
    pid = await flow.submit(channel)
    await flow.approve(pid)

    async def taken() -> bool:
        return len(await flow.recorded(peer)) > before

    await eventually(taken, timeout=60, interval=0.1)
    flow.outbound.kill()
    await flow.clear_faults()
    flow.outbound.start()
    await flow.reaches(pid, "closed")
    (d,) = (await flow.deliveries(pid))["deliveries"]
    for c in d["copies"]:
        key = RECORD_KEY[c["channel"]]
        want = f"{c['reference']}@wiser.example" if c["channel"] == "email" else c["reference"]
        seen = [e for e in await flow.recorded(c["channel"]) if e.get(key) == want and not e.get("repeat")]
        assert len(seen) == 1, (c["channel"], c["recipient"], seen)


async def test_the_api_channel_is_the_signed_letter_available_webhook(flow: Flow) -> None:
    """A partner on the api channel subscribed to letter.available: its 2xx confirms the requester's copy."""
    from .test_outbound_webhooks import Receiver

    receiver = Receiver(flow.sysm.receiver_port)
    receiver.start()
    try:
        r = await flow.http.post(
            f"{flow.sysm.url}/api/v1/webhooks",
            headers=await flow.partner("api"),
            json={
                "url": f"http://127.0.0.1:{receiver.port}/hooks",
                "events": ["letter.available", "packet.determined"],
            },
        )
        assert r.status_code == 201, r.text
        receiver.secret = r.json()["secret"]
        # The registration reaches outbound by the bus, on another partition than the packet's events: wait
        # until outbound holds it, or an event could be judged before outbound knows the subscription.
        await _outbound_knows(flow, uuid.UUID(r.json()["webhook_id"]))
        pid = await flow.submit("api")
        await flow.approve(pid)
        await flow.reaches(pid, "closed")
        kinds = sorted(e["type"] for e in receiver.of(pid))
        assert kinds == ["letter.available", "packet.determined"] and receiver.bad_signatures == 0
        available = next(e for e in receiver.of(pid) if e["type"] == "letter.available")
        assert available["packet"]["state"] == "delivering" and available["letter"]["url"].startswith(
            f"/api/v1/packets/{pid}/"
        )
        fetched = await flow.http.get(f"{flow.sysm.url}{available['letter']['url']}", headers=await flow.partner("api"))
        assert fetched.status_code == 200 and fetched.content.startswith(b"%PDF")
        (d,) = (await flow.deliveries(pid))["deliveries"]
        assert {c["recipient"]: c["channel"] for c in d["copies"]} == {"requester": "webhook", "beneficiary": "mail"}
    finally:
        receiver.stop()


# ------------------------------------------------------------------------------------------- browser

CHROMIUM = os.environ.get("WISER_CHROMIUM", "/usr/bin/chromium")


@pytest.mark.skipif(
    not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM),
    reason="Chromium is installed by `make test` (apt-get install chromium)",
)
async def test_ops_finds_a_failed_fax_corrects_the_number_retries_and_watches_the_packet_close(flow: Flow) -> None:
    from playwright.async_api import async_playwright

    from .test_dashboards import ARGS

    await flow.fault("fax", "down")
    try:
        pid = await flow.submit("fax", fax="+12015550199")
        await flow.approve(pid)
        await flow.reaches(pid, "delivery_failed", timeout=90)
    finally:
        await flow.clear_faults()
    tracking = (await flow.deliveries(pid))["deliveries"][0]["copies"][0]["tracking_number"]
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = await browser.new_context(base_url=flow.sysm.gateway_url, viewport={"width": 1280, "height": 900})
            page = await context.new_page()
            await page.goto("/signin")
            await page.get_by_label("Username").fill("ops_tier2")
            await page.get_by_label("Password").fill("demo-password")
            await page.get_by_role("button", name="Sign in").click()
            await page.wait_for_url(re.compile(r".*/packets$"))
            await page.get_by_role("link", name="Outbound communications").click()
            await page.get_by_label("Status").select_option("failed")
            await page.get_by_label("Channel").select_option("fax")
            await page.get_by_role("button", name="Show").click()
            section = page.locator(f"section.delivery[data-packet='{pid}']")
            await section.get_by_text("+12015550199").wait_for()
            await section.get_by_label("Corrected fax number").fill("+12015550123")
            await section.get_by_role("button", name=f"Retry delivery of {tracking}").click()
            await page.wait_for_url(re.compile(rf".*/packets/{pid}\?notice=retrying"))
            # The packet page follows it live (no reload): delivering, then closed.
            await page.locator("#status-slot").get_by_text("closed").wait_for(timeout=90_000)
            assert await flow.state(pid) == "closed"
        finally:
            await browser.close()


async def test_no_phi_in_any_log_of_the_system(flow: Flow) -> None:
    """Addresses, fax numbers, names and the MBI went to the providers, never to a log."""
    logs = flow.sysm.logs()
    for phi in ("Sorelli", "+12015550111", "+12015550123", "pa@example.org"):
        assert phi not in logs, phi


async def _outbound_knows(flow: Flow, webhook_id: uuid.UUID) -> None:
    import asyncpg

    async def known() -> bool:
        conn = await asyncpg.connect(flow.sysm.infra.dsn())
        try:
            sql = "SELECT count(*) FROM outbound.subscriptions WHERE id = $1 AND secret IS NOT NULL"
            return int(await conn.fetchval(sql, webhook_id)) == 1
        finally:
            await conn.close()

    await eventually(known, timeout=30)
