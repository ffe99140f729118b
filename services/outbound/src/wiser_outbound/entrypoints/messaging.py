"""Bus entrypoints: intake's transitions and reclassifications (webhooks, deliveries) and its webhook
registrations (subscriptions)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from wiser_contracts import messages as m
from wiser_contracts import topology
from wiser_servicekit.consumer import Defer

from ..usecases import webhooks
from ..usecases.context import Outbound
from ..usecases.delivery import LetterSetNotReady
from ..usecases.transitions import on_transitioned

log = logging.getLogger("wiser.outbound.messaging")


def make_handlers(ctx: Outbound) -> dict[str, Callable[[Any], Awaitable[None]]]:
    keys = {i.message: topology.OUTBOUND.inbox_key(i) for i in topology.OUTBOUND.interests}

    async def on_received(message: m.PacketReceived) -> None:
        await webhooks.packet_received(ctx, message, keys[m.PacketReceived])

    async def on_transition(message: m.PacketTransitioned) -> None:
        try:
            result = await on_transitioned(ctx, message, keys[m.PacketTransitioned])
        except LetterSetNotReady as e:  # letters approves before intake moves the packet: not yet, not wrong
            raise Defer(str(e)) from e
        log.info("transition handled", extra={"to": message.to_state.value, "result": result})

    async def on_reclassified(message: m.PacketReclassified) -> None:
        try:
            await webhooks.on_reclassified(ctx, message, keys[m.PacketReclassified])
        except LetterSetNotReady as e:  # letters drafts the notice from the same event: wait for it
            raise Defer(str(e)) from e

    async def on_registered(message: m.WebhookRegistered) -> None:
        await webhooks.subscription_registered(ctx, message, keys[m.WebhookRegistered])

    async def on_removed(message: m.WebhookRemoved) -> None:
        await webhooks.subscription_removed(ctx, message, keys[m.WebhookRemoved])

    return {
        m.PacketReceived.TYPE: on_received,
        m.PacketTransitioned.TYPE: on_transition,
        m.PacketReclassified.TYPE: on_reclassified,
        m.WebhookRegistered.TYPE: on_registered,
        m.WebhookRemoved.TYPE: on_removed,
    }
