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
from .ports import UnitOfWork, WebhookAttempt, WebhookDelivery

log = logging.getLogger("wiser.outbound.webhooks")


# ------------------------------------------------------------------------------------ subscriptions


async def subscription_registered(ctx: Outbound, message: m.WebhookRegistered, inbox_key: str) -> None:
    secret = ctx.sealer.open(message.sealed_secret)
    async with ctx.uow() as uow:
        if not await uow.record_inbox(inbox_key, message):
            return
        await uow.subscriptions.registered(
            message.webhook_id, message.client_id, message.url, message.events, secret, message.registered_at
        )
        await uow.commit()
    log.info("webhook subscription registered", extra={"webhook_id": str(message.webhook_id)})


async def subscription_removed(ctx: Outbound, message: m.WebhookRemoved, inbox_key: str) -> None:
    async with ctx.uow() as uow:
        if not await uow.record_inbox(inbox_key, message):
            return
        now = ctx.clock()
        await uow.subscriptions.removed(message.webhook_id, message.client_id, now)
        await uow.webhooks.cancel_pending(message.webhook_id, now)
        await uow.commit()


# ------------------------------------------------------------------------------------------- events


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
