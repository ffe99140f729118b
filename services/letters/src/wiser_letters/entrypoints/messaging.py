"""Bus entrypoints (topology.LETTERS): transitions to determined / letter_review / closed, the UTN being recorded,
and an expedited request reclassified to standard. One handler per message type, one use case each."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from wiser_contracts import messages as m
from wiser_contracts import topology
from wiser_servicekit.consumer import Defer

from ..usecases.context import Letters
from ..usecases.errors import NotYet
from ..usecases.events import on_reclassified, on_transition, on_utn_recorded

log = logging.getLogger("wiser.letters.messaging")


def make_handlers(ctx: Letters) -> dict[str, Callable[[Any], Awaitable[None]]]:
    interests = {i.message: i for i in topology.LETTERS.interests}

    def key(message_type: type[m.Message]) -> str:
        return topology.LETTERS.inbox_key(interests[message_type])

    async def transitioned(message: m.PacketTransitioned) -> None:
        if message.packet_id is None:
            return
        try:
            out = await on_transition(ctx, message, key(m.PacketTransitioned))
        except NotYet as e:
            raise Defer(str(e)) from e
        log.info("transition handled", extra={"to": message.to_state.value, "result": out.status if out else None})

    async def utn_recorded(message: m.PacketUtnRecorded) -> None:
        if message.packet_id is None:
            return
        try:
            await on_utn_recorded(ctx, message, key(m.PacketUtnRecorded))
        except NotYet as e:
            raise Defer(str(e)) from e

    async def reclassified(message: m.PacketReclassified) -> None:
        if message.packet_id is None:
            return
        await on_reclassified(ctx, message, key(m.PacketReclassified))

    return {
        m.PacketTransitioned.TYPE: transitioned,
        m.PacketUtnRecorded.TYPE: utn_recorded,
        m.PacketReclassified.TYPE: reclassified,
    }
