"""FastStream RabbitMQ broker with durable topology, retries with backoff and parking.

A handler receives the parsed contract message. If it raises, the message goes
to the next delay queue (`<queue>.retry.<n>`, TTL, dead-lettered back to the
queue); after the last delay it is parked in `<queue>.dlq` with the error. A
message that does not parse is parked at once. Nothing a message does can stop
the consumer.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from faststream import AckPolicy
from faststream.rabbit import Channel, RabbitBroker, RabbitQueue
from faststream.rabbit.annotations import RabbitMessage
from opentelemetry import trace
from pydantic import ValidationError

from wiser_contracts import Message, topology
from wiser_contracts.topology import Subscription

from . import metrics, telemetry
from .logs import packet_id_var

log = logging.getLogger("wiser.messaging")

ATTEMPT_HEADER = "x-wiser-attempt"
Handler = Callable[[Any], Awaitable[None]]


def make_broker(amqp_url: str, service: str) -> RabbitBroker:
    return RabbitBroker(amqp_url, app_id=service, logger=None, graceful_timeout=10.0)


def subscribe(
    broker: RabbitBroker,
    sub: Subscription,
    handler: Handler,
    *,
    service: str,
    quorum: bool = True,
    prefetch: int = 32,
) -> None:
    """Consume `sub`'s queue with `handler(message)`; manual acks, retries, parking."""

    @broker.subscriber(
        sub.queue(quorum),
        sub.exchange,
        ack_policy=AckPolicy.MANUAL,
        channel=Channel(prefetch_count=prefetch),
        title=f"{sub.queue_name}:consume",
        description=sub.message.__doc__,
        decoder=_raw_body,
    )
    async def consume(msg: RabbitMessage) -> None:
        raw = msg.raw_message
        headers: dict[str, Any] = dict(raw.headers or {})
        attempt = int(headers.get(ATTEMPT_HEADER, 0) or 0)
        try:
            message = sub.message.model_validate_json(raw.body)
        except (ValidationError, ValueError) as e:
            await park(broker, sub, raw.body, headers, f"malformed: {_safe_error(e)}")
            metrics.MESSAGES_CONSUMED.labels(service, sub.queue_name, "parked").inc()
            await msg.ack()
            return
        token = packet_id_var.set(str(message.packet_id) if message.packet_id else None)
        try:
            with telemetry.span_from(
                headers,
                f"{sub.queue_name} process",
                trace.SpanKind.CONSUMER,
                **{telemetry.PACKET_ATTR: message.packet_id, "messaging.message.id": message.message_id},
            ) as span:
                try:
                    await handler(message)
                    metrics.MESSAGES_CONSUMED.labels(service, sub.queue_name, "ok").inc()
                except Exception as e:
                    span.record_exception(e)
                    log.warning(
                        "handler failed",
                        extra={
                            "queue": sub.queue_name,
                            "message_id": str(message.message_id),
                            "attempt": attempt,
                            "error": type(e).__name__,
                        },
                    )
                    if attempt < len(topology.RETRY_DELAYS):
                        headers[ATTEMPT_HEADER] = attempt + 1
                        await broker.publish(
                            raw.body,
                            queue=sub.retry_queue(attempt + 1).name,
                            headers=headers,
                            message_id=raw.message_id,
                            content_type="application/json",
                            persist=True,
                        )
                        metrics.MESSAGES_CONSUMED.labels(service, sub.queue_name, "retry").inc()
                    else:
                        await park(broker, sub, raw.body, headers, f"{type(e).__name__}: {_safe_error(e)}")
                        metrics.MESSAGES_CONSUMED.labels(service, sub.queue_name, "parked").inc()
        finally:
            packet_id_var.reset(token)
        await msg.ack()


async def _raw_body(msg: Any) -> bytes:
    # We parse bodies ourselves (into the contract type), so junk can be parked instead of failing in FastStream.
    return msg.body  # type: ignore[no-any-return]


def _safe_error(e: BaseException) -> str:
    # Errors name fields and types, not values: pydantic's own text includes input values.
    if isinstance(e, ValidationError):
        return "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['type']}" for err in e.errors())[:500]
    return type(e).__name__


async def park(broker: RabbitBroker, sub: Subscription, body: bytes, headers: dict[str, Any], error: str) -> None:
    headers = {**headers, "x-wiser-error": error, "x-wiser-parked-at": datetime.now(UTC).isoformat()}
    await broker.publish(
        body,
        exchange=topology.DLX,
        routing_key=sub.queue_name,
        headers=headers,
        content_type="application/json",
        persist=True,
    )
    log.error("message parked", extra={"queue": sub.queue_name, "error": error[:200]})


async def declare_failure_topology(broker: RabbitBroker, subs: tuple[Subscription, ...]) -> None:
    """Delay queues and parking queues for each subscription (idempotent)."""
    dlx = await broker.declare_exchange(topology.DLX)
    await broker.declare_exchange(topology.EVENTS)
    await broker.declare_exchange(topology.COMMANDS)
    for sub in subs:
        for attempt in range(1, len(topology.RETRY_DELAYS) + 1):
            await broker.declare_queue(sub.retry_queue(attempt))
        dlq = await broker.declare_queue(sub.dlq())
        await dlq.bind(dlx, routing_key=sub.queue_name)


async def _fresh_queue(broker: RabbitBroker, name: str) -> Any:
    """A passive declaration on a new channel: current counts, no cached objects."""
    connection = broker._connection  # FastStream exposes no public accessor
    if connection is None:
        raise RuntimeError("broker not connected")
    channel = await connection.channel()
    return channel, await channel.declare_queue(name, passive=True)


async def replay_parked(broker: RabbitBroker, sub: Subscription, limit: int = 1000) -> int:
    """Move parked messages back onto their queue (operator action after a fix)."""
    channel, queue = await _fresh_queue(broker, sub.dlq().name)
    moved = 0
    try:
        while moved < limit:
            incoming = await queue.get(fail=False, no_ack=False)
            if incoming is None:
                break
            headers = {k: v for k, v in (incoming.headers or {}).items() if not k.startswith("x-wiser-")}
            await broker.publish(
                incoming.body,
                queue=RabbitQueue(sub.queue_name, declare=False),
                headers=headers,
                message_id=incoming.message_id,
                content_type="application/json",
                persist=True,
            )
            await incoming.ack()
            moved += 1
    finally:
        await channel.close()
    return moved


async def parked_count(broker: RabbitBroker, sub: Subscription) -> int:
    channel, queue = await _fresh_queue(broker, sub.dlq().name)
    try:
        return int(queue.declaration_result.message_count or 0)
    finally:
        await channel.close()


async def publish_message(broker: RabbitBroker, message: Message) -> None:
    """Publish a contract message directly (tests, tools); services use the outbox."""
    headers: dict[str, Any] = dict(message.amqp_headers())
    headers.update(telemetry.inject_current())
    await broker.publish(
        message.model_dump_json().encode(),
        exchange=topology.exchange_for(type(message)),
        routing_key=message.TYPE,
        headers=headers,
        message_id=str(message.message_id),
        message_type=message.type,
        content_type="application/json",
        persist=True,
        mandatory=False,
    )


async def dlq_command(amqp_url: str, service: str, subs: tuple[Subscription, ...], action: str) -> None:
    """`python -m wiser_<svc> dlq list|replay`: what is parked, or put it back on its queue."""
    broker = make_broker(amqp_url, service)
    await broker.connect()
    try:
        for sub in subs:
            if action == "list":
                print(f"{sub.dlq().name}: {await parked_count(broker, sub)}")
            else:
                print(f"{sub.queue_name}: replayed {await replay_parked(broker, sub)}")
    finally:
        await broker.stop()
