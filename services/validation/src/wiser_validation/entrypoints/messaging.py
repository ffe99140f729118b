"""Bus entrypoints: intake's transitions (validate on entering `validating`) and the MAC's UTNs."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from wiser_contracts import messages as m
from wiser_contracts import topology

from ..usecases.validate import Validation, close_seen, record_utn, validate_packet

log = logging.getLogger("wiser.validation.messaging")
CLOSED = {m.PacketState.DETERMINED, m.PacketState.CLOSED}


def make_handlers(v: Validation) -> dict[str, Callable[[Any], Awaitable[None]]]:
    interests = {i.message: i for i in topology.VALIDATION.interests}
    transitions_key = topology.VALIDATION.inbox_key(interests[m.PacketTransitioned])

    async def on_transition(message: m.PacketTransitioned) -> None:
        assert message.packet_id is not None
        if message.to_state == m.PacketState.VALIDATING and message.validation_run:
            result = await validate_packet(v, message.packet_id, message.validation_run, message, transitions_key)
            log.info("validation run handled", extra={"run": message.validation_run, "result": result})
        elif message.to_state in CLOSED:
            await close_seen(v.uow, message.packet_id)

    async def on_utn(message: m.UtnAssigned) -> None:
        assert message.packet_id is not None
        await record_utn(v.uow, message.packet_id, message.utn)

    return {m.PacketTransitioned.TYPE: on_transition, m.UtnAssigned.TYPE: on_utn}
