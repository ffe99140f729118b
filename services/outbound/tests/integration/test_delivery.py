"""Letter delivery on outbound's own tables, against the sandbox's providers (their real request shapes),
with the letters and intake ports faked (their services are not what is under test here).

Each channel from `delivering` to T16; a provider down past the budget gives T17; an ops retry with a
corrected fax number gives a new round that sends only what failed; a crash between recording an attempt
and hearing the answer sends nothing twice.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from wiser_contracts import messages as m
from wiser_contracts import topology
from wiser_outbound.adapters.channels import EmailClient, EsmdClient, FaxClient, MailClient
from wiser_outbound.adapters.tables import attempts, copies, deliveries, outbox
from wiser_outbound.bootstrap import bootstrap
from wiser_outbound.cli import SERVICE_ROOT
from wiser_outbound.config import Settings
from wiser_outbound.domain.retry import Schedule
from wiser_outbound.usecases import delivery, queries
from wiser_outbound.usecases.context import Outbound
from wiser_outbound.usecases.ports import Send
from wiser_outbound.usecases.scheduler import Scheduler
from wiser_outbound.usecases.transitions import on_transitioned
from wiser_sandbox.app import create_app as sandbox_app
from wiser_servicekit.crypto import FieldCipher, configure_cipher
from wiser_servicekit.db import make_engine, make_sessionmaker
from wiser_servicekit.migrate import migrate
from wiser_servicekit.testing import Infra, free_port

PDF = b"%PDF-1.4\n% a letter\n%%EOF\n"
INBOX_KEY = "outbound.on_packet_transitioned"


class FakeIntake:
    def __init__(self) -> None:
        self.packets: dict[str, dict[str, Any]] = {}

    async def packet(self, packet_id: uuid.UUID) -> dict[str, Any]:
        return self.packets[str(packet_id)]


class FakeLetters:
    def __init__(self) -> None:
        self.sets: dict[str, dict[str, Any]] = {}

    async def letter_set(self, packet_id: uuid.UUID, kind: str = "decision") -> dict[str, Any]:
        return self.sets[str(packet_id)]

    async def pdf(self, letter_id: str) -> bytes:
        return PDF


@pytest.fixture(scope="module")
async def ctx(infra: Infra) -> AsyncIterator[Outbound]:
    own = infra.derive(f"ob{uuid.uuid4().hex[:6]}")
    settings = Settings(
        env="test",
        database_url=own.sqlalchemy_url("wiser_outbound"),
        database_admin_url=own.sqlalchemy_url(),
        amqp_url=own.amqp_url_for("outbound"),
        amqp_admin_url=own.amqp_url,
    )
    await asyncio.to_thread(migrate, settings, SERVICE_ROOT, topology.OUTBOUND)
    configure_cipher(FieldCipher(settings.phi_keys, settings.phi_index_key))
    engine = make_engine(settings.database_url, settings.db_schema, 4)
    sandbox = sandbox_app()
    smtp_port = free_port()
    from wiser_sandbox.smtp import SmtpServer

    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url="http://sandbox")
    # The SMTP server is real (STARTTLS); the sandbox app's message log is where it records.
    recorder, log = sandbox.state.recorder, sandbox.state.email_log
    smtp = SmtpServer(recorder, log, sandbox.state.faults, smtp_port)
    smtp.start()
    quick = Schedule((0.05, 0.05, 0.05), budget_seconds=1.5)
    context = bootstrap(
        settings,
        make_sessionmaker(engine),
        http,
        intake=FakeIntake(),
        letters=FakeLetters(),
        channels={
            "fax": FaxClient("http://sandbox/fax/v1", settings.fax_api_key, "http://127.0.0.1:9/cb", http, 5),
            "mail": MailClient("http://sandbox/mail/v1", settings.mail_api_key, "http://127.0.0.1:9/cb", http, 5),
            "esmd": EsmdClient("http://sandbox/esmd/v1", http, 5),
            "email": EmailClient(
                "127.0.0.1", smtp_port, "letters@wiser.example", "http://portal", "http://sandbox/email/v1", http, 5,
                verify_tls=False,
            ),
        },
    )  # fmt: skip
    context.schedules = {c: quick for c in ("webhook", "fax", "mail", "esmd", "email")}
    context.breakers.threshold, context.breakers.reset_seconds = 100, 0.1
    context.claim_seconds = 0.5
    context.sandbox = http  # type: ignore[attr-defined]
    try:
        yield context
    finally:
        smtp.stop()
        await http.aclose()
        await engine.dispose()


def packet(channel: str, fax: str = "+12015550111") -> dict[str, Any]:
    pid = str(uuid.uuid4())
    return {
        "packet_id": pid,
        "tracking_number": f"WSR-T-{pid[:6]}",
        "external_ref": f"ESMD-{pid[:8]}",
        "partner_client_id": f"demo-{channel}",
        "channel": channel,
        "state": "delivering",
        "review_type": "standard",
        "received_at": datetime.now(UTC).isoformat(),
        "due_at": datetime.now(UTC).isoformat(),
        "determination": {"outcome": "affirmed", "utn": "JLA26001234567", "lines": []},
        "beneficiary": {"first_name": "Avery", "last_name": "Quillon",
                        "address": {"line1": "1 Main St", "city": "Newark", "state": "NJ", "zip": "07102"}},
        "practitioner": {"first_name": "Ursula", "last_name": "Brightwater", "fax": fax,
                         "address": {"line1": "2 Elm St", "city": "Newark", "state": "NJ", "zip": "07102"}},
        "requester": {"fax": fax, "email": "pa@example.org"},
        "history": [],
    }  # fmt: skip


def enter_delivering(ctx: Outbound, p: dict[str, Any], version: int = 12) -> m.PacketTransitioned:
    ctx.intake.packets[p["packet_id"]] = p  # type: ignore[attr-defined]
    ctx.letters.sets[p["packet_id"]] = {  # type: ignore[attr-defined]
        "packet_id": p["packet_id"], "set_id": "s1", "version": 1, "status": "approved", "kind": "affirmation",
        "letters": [{"letter_id": f"r-{p['packet_id'][:8]}", "recipient": "requester"},
                    {"letter_id": f"b-{p['packet_id'][:8]}", "recipient": "beneficiary"}],
    }  # fmt: skip
    return m.PacketTransitioned(
        producer="intake",
        packet_id=p["packet_id"],
        transition="T14",
        from_state="letter_review",
        to_state="delivering",
        version=version,
        actor=m.Actor(type="system", id="letters"),
    )


async def run_until(ctx: Outbound, done: Any, seconds: float = 10) -> None:
    scheduler = Scheduler(ctx, 0.05)
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        await scheduler.once()
        if await done():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not done in time")


async def emitted(ctx: Outbound, packet_id: str) -> list[str]:
    async with ctx.sessions() as session:
        rows = (await session.execute(select(outbox.c.type).where(outbox.c.packet_id == uuid.UUID(packet_id)))).all()
    return [r.type for r in rows]


async def delivery_status(ctx: Outbound, packet_id: str) -> str | None:
    async with ctx.sessions() as session:
        row = (
            await session.execute(
                select(deliveries.c.status)
                .where(deliveries.c.packet_id == uuid.UUID(packet_id))
                .order_by(deliveries.c.round.desc())
            )
        ).first()
    return row.status if row else None


async def recorded(ctx: Outbound, peer: str) -> list[dict[str, Any]]:
    r = await ctx.sandbox.get(f"/_sandbox/outbound/{peer}")  # type: ignore[attr-defined]
    return r.json()["received"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("channel", ["fax", "mail", "esmd", "portal"])
async def test_each_channel_from_delivering_to_completed(ctx: Outbound, channel: str) -> None:
    p = packet(channel)
    assert "delivery started" in await on_transitioned(ctx, enter_delivering(ctx, p), INBOX_KEY)

    async def completed() -> bool:
        return await delivery_status(ctx, p["packet_id"]) == "completed"

    await run_until(ctx, completed)
    assert await emitted(ctx, p["packet_id"]) == [m.DeliveryCompleted.TYPE]
    listing = [d for d in await queries.listing(ctx, status=None, channel=None, limit=200)
               if d["packet_id"] == p["packet_id"]]  # fmt: skip
    kinds = {c["recipient"]: c["channel"] for c in listing[0]["copies"]}
    assert kinds == {"requester": {"portal": "email"}.get(channel, channel), "beneficiary": "mail"}
    for c in listing[0]["copies"]:
        assert c["status"] == "confirmed" and c["attempts"][0]["peer_status"] in (200, 201, 250)
    if channel == "esmd":
        sent = [e for e in await recorded(ctx, "esmd") if e["unique_id"] == listing[0]["copies"][0]["reference"]
                or e["unique_id"] == listing[0]["copies"][1]["reference"]]  # fmt: skip
        assert sent[0]["decision"] == "A" and sent[0]["content_types"] == ["20"] and sent[0]["is_pdf"]
    if channel == "portal":
        mail = [e for e in await recorded(ctx, "email") if e["subject"].endswith(p["tracking_number"])]
        assert len(mail) == 1 and mail[0]["tls"] and mail[0]["content_types"] == ["text/plain"]
        assert "Quillon" not in mail[0]["text"] and p["tracking_number"] in mail[0]["text"]
    # The same transition again (a redelivery) starts nothing new.
    assert await on_transitioned(ctx, enter_delivering(ctx, p), INBOX_KEY) != ""


async def test_a_provider_down_past_the_budget_fails_the_delivery_and_a_corrected_retry_sends_only_that(
    ctx: Outbound,
) -> None:
    p = packet("fax", fax="+12015550199")  # the sandbox's number that never answers
    message = enter_delivering(ctx, p)
    await on_transitioned(ctx, message, INBOX_KEY)

    async def failed() -> bool:
        return await delivery_status(ctx, p["packet_id"]) == "failed"

    await run_until(ctx, failed)
    assert await emitted(ctx, p["packet_id"]) == [m.DeliveryFailed.TYPE]
    before = len([e for e in await recorded(ctx, "mail") if e["zip"] == "07102"])

    result = await delivery.retry(ctx, uuid.UUID(p["packet_id"]), "+12015550123", None, "ops2", "token")
    assert result["status"] == "requested"
    assert (await emitted(ctx, p["packet_id"]))[-1] == m.RetryDelivery.TYPE
    # Intake's T18 comes back as a new transition to delivering.
    again = m.PacketTransitioned(**{**message.model_dump(), "message_id": uuid.uuid4(), "version": 14,
                                    "transition": "T18", "from_state": "delivery_failed"})  # fmt: skip
    await on_transitioned(ctx, again, INBOX_KEY)

    async def completed() -> bool:
        return await delivery_status(ctx, p["packet_id"]) == "completed"

    await run_until(ctx, completed)
    faxed = [e["to"] for e in await recorded(ctx, "fax") if e["client_reference"].startswith("wsr-")]
    assert "+12015550123" in faxed
    mail_after = len([e for e in await recorded(ctx, "mail") if e["zip"] == "07102"])
    assert mail_after == before  # the beneficiary's copy was confirmed in round 1: not mailed again


@pytest.mark.parametrize("channel", ["fax", "mail", "esmd", "email"])
async def test_a_crash_after_the_provider_took_it_sends_nothing_twice(ctx: Outbound, channel: str) -> None:
    """The attempt is on record (`sending`), the provider got the copy, the process died before the answer
    was saved: on restart the provider is asked about our reference and nothing is sent again."""
    p = packet({"email": "portal"}.get(channel, channel))
    await on_transitioned(ctx, enter_delivering(ctx, p), INBOX_KEY)
    async with ctx.sessions() as session:
        row = (
            await session.execute(
                select(copies)
                .join(deliveries, deliveries.c.id == copies.c.delivery_id)
                .where(deliveries.c.packet_id == uuid.UUID(p["packet_id"]), copies.c.recipient == "requester")
            )
        ).first()
    assert row is not None
    # What _work does before the call, then the call itself, then "the process dies".
    async with ctx.sessions() as session, session.begin():
        await session.execute(update(copies).where(copies.c.id == row.id).values(status="sending", attempts=1))
        await session.execute(
            attempts.insert().values(copy_id=row.id, n=1, started_at=datetime.now(UTC), outcome="started")
        )
    dest = {k: v for k, v in row.destination.items() if k != "facts"}
    sent = await ctx.channels[channel].send(Send(row.reference, dest, PDF, row.destination["facts"]))
    assert sent.accepted

    async def completed() -> bool:
        return await delivery_status(ctx, p["packet_id"]) == "completed"

    await run_until(ctx, completed)
    peer = {"email": "email"}.get(channel, channel)
    key = {"fax": "client_reference", "mail": "reference", "esmd": "unique_id", "email": "message_id"}[channel]
    ref = row.reference if channel != "email" else f"{row.reference}@wiser.example"
    times = [e for e in await recorded(ctx, peer) if e.get(key) == ref and not e.get("repeat")]
    assert len(times) == 1
    listing = [d for d in await queries.listing(ctx, status=None, channel=None, limit=200)
               if d["packet_id"] == p["packet_id"]]  # fmt: skip
    requester = next(c for c in listing[0]["copies"] if c["recipient"] == "requester")
    assert [a["outcome"] for a in requester["attempts"]] == ["recovered"]  # attempt 1, answered after the restart


async def test_a_late_registration_catches_up_on_its_partners_events_in_the_database(ctx: Outbound) -> None:
    from sqlalchemy import func

    from wiser_outbound.adapters.tables import heard, webhook_deliveries
    from wiser_outbound.usecases import webhooks
    from wiser_servicekit.seal import Sealer

    client = f"late-{uuid.uuid4().hex[:6]}"
    p = packet("api")
    p["partner_client_id"], p["state"] = client, "clinical_queue"
    p["history"] = [{"transition": "T3", "from": "validating", "to": "clinical_queue", "version": 3, "at": "a"}]
    ctx.intake.packets[p["packet_id"]] = p  # type: ignore[attr-defined]
    registered_at = datetime.now(UTC)
    received = m.PacketReceived(
        producer="intake", packet_id=p["packet_id"], tracking_number="WSR-1", channel="api", review_type="standard",
        state_of_service="NJ", received_at=registered_at, due_at=registered_at, partner_client_id=client,
    )  # fmt: skip
    await webhooks.packet_received(ctx, received, "outbound.on_packet_received")
    moved = m.PacketTransitioned(
        producer="intake", packet_id=p["packet_id"], transition="T3", from_state="validating",
        to_state="clinical_queue", version=3, actor=m.Actor(type="system", id="validation"),
    )  # fmt: skip
    assert await on_transitioned(ctx, moved, INBOX_KEY) == "webhooks=0"  # nobody subscribed yet, as far as we know
    registration = m.WebhookRegistered(
        producer="intake", webhook_id=uuid.uuid4(), client_id=client, url="https://partner.example/h",
        events=("packet.transitioned",), sealed_secret=Sealer(ctx_settings_seal()).seal("whsec"),
        registered_at=registered_at,
    )  # fmt: skip
    await webhooks.subscription_registered(ctx, registration, "outbound.on_webhook_registered")
    await webhooks.subscription_registered(ctx, registration, "outbound.on_webhook_registered")  # redelivered
    async with ctx.sessions() as s:
        rows = (
            await s.execute(
                select(webhook_deliveries).where(webhook_deliveries.c.subscription_id == registration.webhook_id)
            )
        ).all()
        assert [r.kind for r in rows] == ["packet.transitioned"]
        assert (await s.scalar(select(func.count()).select_from(heard).where(heard.c.client_id == client))) == 1
    ctx.catch_up = ctx.catch_up * 0  # everything heard is now past the window
    assert await webhooks.forget_old(ctx) >= 1
    async with ctx.sessions() as s:
        assert (await s.scalar(select(func.count()).select_from(heard).where(heard.c.client_id == client))) == 0


def ctx_settings_seal() -> str:
    return Settings(env="test").webhook_seal_keys
