"""Partner webhooks: subscriptions heard from intake, events fanned out to them, delivery with retries."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from wiser_contracts import messages as m

from ..domain import webhooks as wh
from ..domain.view import view_as_of
from .context import Outbound
from .ports import Heard, UnitOfWork, WebhookAttempt, WebhookDelivery

log = logging.getLogger("wiser.outbound.webhooks")

HEARD_TRANSITIONED, HEARD_RECLASSIFIED = "transitioned", "reclassified"


# ------------------------------------------------------------------------------------ subscriptions


async def subscription_registered(ctx: Outbound, message: m.WebhookRegistered, inbox_key: str) -> None:
    """Store the subscription, and queue for it what outbound already handled of its partner's packets since the
    registration: a registration and a packet's events travel on different partitions, so the events of a packet
    submitted just after registering can reach outbound first."""
    secret = ctx.sealer.open(message.sealed_secret)
    kinds = set(message.events)
    async with ctx.uow() as uow:
        early = await uow.packets.heard_since(message.client_id, message.registered_at)
    details = await _details(ctx, early, kinds, {})  # read before the lock: no partner's event waits on intake
    async with ctx.uow() as uow:
        if not await uow.record_inbox(inbox_key, message):
            return
        # Exclusively: an event handler of this partner's either committed (so it is heard now) or waits and
        # then sees the subscription.
        await uow.packets.hold_client(message.client_id, exclusive=True)
        await uow.subscriptions.registered(
            message.webhook_id, message.client_id, message.url, message.events, secret, message.registered_at
        )
        caught_up = 0
        sub = await uow.subscriptions.get(message.webhook_id)
        if sub is not None and not sub.removed:
            heard = await uow.packets.heard_since(message.client_id, message.registered_at)
            details = await _details(ctx, heard, kinds, details)
            caught_up = await _catch_up(ctx, uow, sub.id, kinds, heard, details)
        await uow.commit()
    log.info("webhook subscription registered", extra={"webhook_id": str(message.webhook_id), "caught_up": caught_up})


def _partner_events(h: Heard) -> list[wh.PartnerEvent]:
    """The partner events an event outbound heard made (the same ids as when it was handled)."""
    if h.kind == HEARD_RECLASSIFIED:
        return [wh.PartnerEvent(wh.RECLASSIFIED, wh.event_id(h.message_id, wh.RECLASSIFIED), h.occurred_at)]
    return wh.events_of_transition(h.message_id, h.to_state or "", h.occurred_at)


async def _details(
    ctx: Outbound, heard: list[Heard], kinds: set[str], known: dict[uuid.UUID, dict[str, Any]]
) -> dict[uuid.UUID, dict[str, Any]]:
    wanted = {h.packet_id for h in heard if any(e.kind in kinds for e in _partner_events(h))} - known.keys()
    found = dict(known)
    for packet_id in sorted(wanted):
        found[packet_id] = await ctx.intake.packet(packet_id)
    return found


async def _catch_up(
    ctx: Outbound,
    uow: UnitOfWork,
    subscription_id: uuid.UUID,
    kinds: set[str],
    heard: list[Heard],
    details: dict[uuid.UUID, dict[str, Any]],
) -> int:
    now, queued = ctx.clock(), 0
    for h in heard:
        for event in _partner_events(h):
            if event.kind in kinds and h.packet_id in details:
                packet = view_as_of(details[h.packet_id], h.version, h.to_state)
                payload = wh.body(event, packet)
                queued += await uow.webhooks.add(event.event_id, subscription_id, h.packet_id, event.kind, payload, now)
    return queued


def heard_transition(message: m.PacketTransitioned, client_id: str) -> Heard:
    assert message.packet_id is not None
    return Heard(
        message.message_id, message.packet_id, client_id, HEARD_TRANSITIONED, message.to_state.value,
        message.version, message.occurred_at,
    )  # fmt: skip


async def forget_old(ctx: Outbound) -> int:
    """Drop handled events older than the catch-up window (the scheduler, now and then)."""
    async with ctx.uow() as uow:
        gone = await uow.packets.forget_heard(ctx.clock() - ctx.catch_up)
        await uow.commit()
    return gone


async def subscription_removed(ctx: Outbound, message: m.WebhookRemoved, inbox_key: str) -> None:
    async with ctx.uow() as uow:
        if not await uow.record_inbox(inbox_key, message):
            return
        now = ctx.clock()
        await uow.subscriptions.removed(message.webhook_id, message.client_id, now)
        await uow.webhooks.cancel_pending(message.webhook_id, now)
        await uow.commit()


# ------------------------------------------------------------------------------------------- events


async def packet_received(ctx: Outbound, message: m.PacketReceived, inbox_key: str) -> None:
    """Remember whose packet it is (and its channel), so its transitions need not ask intake."""
    assert message.packet_id is not None
    async with ctx.uow() as uow:
        if not await uow.record_inbox(inbox_key, message):
            return
        if message.partner_client_id:
            await uow.packets.remember(message.packet_id, message.partner_client_id, message.channel)
        await uow.commit()


async def owner_of(ctx: Outbound, packet_id: uuid.UUID) -> tuple[str, str, dict[str, Any] | None]:
    """(partner client, channel, the detail if it had to be read) of a packet: remembered after the first read."""
    async with ctx.uow() as uow:
        known = await uow.packets.owner(packet_id)
    if known is not None:
        return known[0], known[1], None
    detail = await ctx.intake.packet(packet_id)
    async with ctx.uow() as uow:
        await uow.packets.remember(packet_id, detail["partner_client_id"], detail["channel"])
        await uow.commit()
    return detail["partner_client_id"], detail["channel"], detail


async def wanted(ctx: Outbound, client_id: str, kinds: list[str]) -> bool:
    async with ctx.uow() as uow:
        return bool(await uow.subscriptions.active_for(client_id, kinds))


async def queue_events(
    ctx: Outbound,
    uow: UnitOfWork,
    packet_id: uuid.UUID,
    version: int,
    state: str | None,
    events: list[wh.PartnerEvent],
    client_id: str,
    detail: dict[str, Any] | None,
    extra: dict[str, Any] | None = None,
) -> int:
    """Queue each event for each subscription of the packet's partner that asked for it (in `uow`). The packet
    is read (once) only when someone subscribed; the body is frozen now, as the packet was at `version`."""
    subs = await uow.subscriptions.active_for(client_id, [e.kind for e in events])
    if not subs:
        return 0
    if detail is None:
        detail = await ctx.intake.packet(packet_id)
    packet = view_as_of(detail, version, state)
    now, queued = ctx.clock(), 0
    for event in events:
        payload = wh.body(event, packet, extra)
        for sub in subs:
            if event.kind in sub.events:
                queued += await uow.webhooks.add(event.event_id, sub.id, packet_id, event.kind, payload, now)
    return queued


async def on_reclassified(ctx: Outbound, message: m.PacketReclassified, inbox_key: str) -> None:
    """The `packet.reclassified` webhook; on the other channels, the reclassification notice letters drafted."""
    from . import delivery

    assert message.packet_id is not None
    client_id, channel, detail = await owner_of(ctx, message.packet_id)
    event = wh.PartnerEvent(wh.RECLASSIFIED, wh.event_id(message.message_id, wh.RECLASSIFIED), message.occurred_at)
    notice = channel != "api"
    if detail is None and (notice or await wanted(ctx, client_id, [wh.RECLASSIFIED])):
        detail = await ctx.intake.packet(message.packet_id)
    plan = await delivery.plan_notice(ctx, message.packet_id, message.version, detail) if notice and detail else None
    async with ctx.uow() as uow:
        if not await uow.record_inbox(inbox_key, message):
            return
        await uow.packets.hold_client(client_id)
        heard = Heard(
            message.message_id, message.packet_id, client_id, HEARD_RECLASSIFIED, None, message.version,
            message.occurred_at,
        )  # fmt: skip
        await uow.packets.heard(heard)
        await queue_events(ctx, uow, message.packet_id, message.version, None, [event], client_id, detail)
        if plan is not None and detail is not None:
            await delivery.start(ctx, uow, plan, client_id, detail)
        await uow.commit()


# ----------------------------------------------------------------------------------------- delivery


async def deliver_due(ctx: Outbound) -> int:
    """One pass of the scheduler: send what is due, record each attempt with the partner's answer."""
    now = ctx.clock()
    async with ctx.uow() as uow:
        due = await uow.webhooks.claim_due(now, ctx.batch, now + timedelta(seconds=ctx.claim_seconds))
        await uow.commit()

    async def one(d: WebhookDelivery) -> None:
        try:
            await _deliver_one(ctx, d)
        except Exception:  # its claim lapses and it is tried again; the others go on
            log.exception("webhook not delivered", extra={"delivery": d.id})

    await asyncio.gather(*(one(d) for d in due))
    return len(due)


async def _deliver_one(ctx: Outbound, d: WebhookDelivery) -> None:
    now = ctx.clock()
    async with ctx.uow() as uow:
        sub = await uow.subscriptions.get(d.subscription_id)
    if sub is None or sub.removed or not sub.secret:
        async with ctx.uow() as uow:
            await uow.webhooks.cancel_pending(d.subscription_id, now)
            await uow.commit()
        return
    breaker = ctx.breakers.of(f"webhook:{urlsplit(sub.url).netloc}")
    if not breaker.allows(now):
        # Not an attempt: the partner is known to be down; look again when the breaker lets one through.
        async with ctx.uow() as uow:
            await uow.webhooks.postpone(d.id, now + timedelta(seconds=breaker.reset_seconds))
            await uow.commit()
        return
    sent = await ctx.webhooks.send(sub.url, sub.secret, str(d.event_id), d.kind, d.body)
    n = d.attempts + 1
    later = ctx.clock()
    if sent.ok:
        breaker.succeeded()
        status, nxt = "delivered", None
    else:
        if sent.status_code is None or sent.status_code >= 500:
            breaker.failed(now)
        nxt = ctx.schedules["webhook"].next_attempt(d.created_at, n, later)
        status = "pending" if nxt is not None else "failed"
    attempt = WebhookAttempt(n, now, sent.status_code, sent.response, sent.error, sent.duration_ms)
    async with ctx.uow() as uow:
        await uow.webhooks.attempted(d.id, attempt, status, nxt)
        if d.kind == wh.LETTER_AVAILABLE and status in ("delivered", "failed"):
            from .delivery import webhook_settled

            await webhook_settled(ctx, uow, d.event_id, status == "delivered")
        await uow.commit()
    log.info("webhook attempt", extra={"delivery": d.id, "attempt": n, "status": sent.status_code, "kind": d.kind})
