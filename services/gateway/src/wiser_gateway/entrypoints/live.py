"""Live updates: intake's transitions, fanned out to every open page over Server-Sent Events.

Each gateway replica has its own exclusive, auto-deleted queue bound to every
`intake.packet.transitioned.<state>`, so every replica sees every transition. Events
carry ids and states only, never PHI.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

from faststream import AckPolicy
from faststream.rabbit import RabbitBroker, RabbitExchange, RabbitQueue
from faststream.rabbit.annotations import RabbitMessage

from wiser_contracts import messages as m
from wiser_contracts import topology

log = logging.getLogger("wiser.gateway.live")


class Hub:
    def __init__(self) -> None:
        self.clients: set[asyncio.Queue[dict[str, Any]]] = set()

    def publish(self, event: dict[str, Any]) -> None:
        for queue in list(self.clients):
            if queue.qsize() < 1000:
                queue.put_nowait(event)

    async def stream(self, keepalive: float = 15.0) -> AsyncIterator[str]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.clients.add(queue)
        try:
            yield "retry: 2000\n\n"
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), keepalive)
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                yield f"event: transition\ndata: {json.dumps(event)}\n\n"
        finally:
            self.clients.discard(queue)


def subscribe_live(broker: RabbitBroker, hub: Hub) -> None:
    interest = topology.GATEWAY.by_type[m.PacketTransitioned.TYPE]
    (key,) = interest.binding_keys()
    queue = RabbitQueue(
        f"gateway.{interest.handler}.{uuid.uuid4().hex[:8]}", exclusive=True, auto_delete=True, routing_key=key
    )
    # Declared by `migrate` (with the admin user); the gateway's own user may only bind to it.
    events = RabbitExchange(
        topology.EVENTS.name,
        type=topology.EVENTS.type,
        durable=True,
        declare=False,
        arguments=topology.EVENTS.arguments,
    )

    async def decoder(msg: Any) -> bytes:
        return msg.body  # type: ignore[no-any-return]

    @broker.subscriber(
        queue,
        events,
        ack_policy=AckPolicy.MANUAL,
        decoder=decoder,
        title="gateway.live:consume",
        description="Live updates for open dashboards",
    )
    async def on_transition(msg: RabbitMessage) -> None:
        try:
            event = m.PacketTransitioned.model_validate_json(msg.raw_message.body)
            hub.publish(
                {
                    "packet_id": str(event.packet_id),
                    "from": event.from_state.value,
                    "to": event.to_state.value,
                    "version": event.version,
                    "transition": event.transition,
                }
            )
        except Exception:
            log.warning("unreadable transition event skipped")
        await msg.ack()
