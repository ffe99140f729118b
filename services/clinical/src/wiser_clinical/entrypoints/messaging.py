"""Bus entrypoints: intake's transitions into `clinical_queue` (open the case, assign) and `closed` (a withdrawn
packet closes its case and frees its reviewer)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from wiser_contracts import messages as m
from wiser_contracts import topology

from ..usecases.assignment import case_closed, case_queued
from ..usecases.ports import Clinical

log = logging.getLogger("wiser.clinical.messaging")


def make_handlers(ctx: Clinical) -> dict[str, Callable[[Any], Awaitable[None]]]:
    interests = {i.message: i for i in topology.CLINICAL.interests}
    transitions_key = topology.CLINICAL.inbox_key(interests[m.PacketTransitioned])

    async def on_transition(message: m.PacketTransitioned) -> None:
        if message.packet_id is None:
            return
        if message.to_state == m.PacketState.CLINICAL_QUEUE:
            result = await case_queued(ctx, message, transitions_key)
        elif message.to_state == m.PacketState.CLOSED:
            result = await case_closed(ctx, message, transitions_key)
        else:
            return
        log.info("transition handled", extra={"to": message.to_state.value, "result": result})

    return {m.PacketTransitioned.TYPE: on_transition}
