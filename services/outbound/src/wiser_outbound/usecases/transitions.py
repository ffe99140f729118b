"""Intake's transitions: partner webhooks for each, and the letters' delivery when a packet enters `delivering`."""

from __future__ import annotations

from wiser_contracts import messages as m

from ..domain import webhooks as wh
from . import delivery
from .context import Outbound
from .webhooks import heard_transition, owner_of, queue_events, wanted


async def on_transitioned(ctx: Outbound, message: m.PacketTransitioned, inbox_key: str) -> str:
    assert message.packet_id is not None
    events = wh.events_of_transition(message.message_id, message.to_state.value, message.occurred_at)
    starting = message.to_state == m.PacketState.DELIVERING
    if not starting:
        # Most transitions: a known packet whose partner subscribed to none of these events. One transaction.
        async with ctx.uow() as uow:
            known = await uow.packets.owner(message.packet_id)
            if known is not None:
                await uow.packets.hold_client(known[0])  # a registration of this partner's is not half-way
                if not await uow.subscriptions.active_for(known[0], [e.kind for e in events]):
                    if not await uow.record_inbox(inbox_key, message):
                        return "duplicate"
                    await uow.packets.heard(heard_transition(message, known[0]))
                    await uow.commit()
                    return "webhooks=0"
    client_id, _, detail = await owner_of(ctx, message.packet_id)
    plan = None
    if starting:
        detail = detail or await ctx.intake.packet(message.packet_id)
        plan = await delivery.plan(ctx, message, detail)
    elif detail is None and await wanted(ctx, client_id, [e.kind for e in events]):
        detail = await ctx.intake.packet(message.packet_id)
    async with ctx.uow() as uow:
        if not await uow.record_inbox(inbox_key, message):
            return "duplicate"
        await uow.packets.hold_client(client_id)
        await uow.packets.heard(heard_transition(message, client_id))
        queued = await queue_events(
            ctx, uow, message.packet_id, message.version, message.to_state.value, events, client_id, detail
        )
        if plan is not None:
            assert detail is not None
            await delivery.start(ctx, uow, plan, client_id, detail)
        await uow.commit()
    return f"webhooks={queued}" + (" delivery started" if plan is not None else "")
