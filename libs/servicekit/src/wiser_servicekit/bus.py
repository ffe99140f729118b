"""The bus on aio-pika: topology declared at deploy time, confirmed publishing under the service's own
broker user, parking and replay.

- `declare_topology` is what `python -m wiser_<svc> migrate` runs (with the admin broker URL): the
  shared exchanges, `wiser.unrouted`, and the service's input exchange, partition queues, bindings and
  parking queue, so nothing published before the service first starts is lost.
- `Publisher` publishes with publisher confirms and `mandatory`, stamping the AMQP `user_id` with the
  connection's user (RabbitMQ refuses a message whose `user_id` is not the connection's user), so
  consumers know which service said it.
- Parked messages sit in `<service>.dlq`; `replay_parked` dead-letters them back into the service's
  input exchange, which keeps every property (`user_id` included) and re-hashes them onto their
  partition. `wiser.unrouted` replays the same way into `wiser.events`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection
from aio_pika.exceptions import PublishError

from wiser_contracts import Message, topology
from wiser_contracts.topology import Consumer

from . import telemetry

log = logging.getLogger("wiser.bus")


class Unroutable(Exception):
    """The broker returned a mandatory message: no queue is bound for it."""


def broker_user(amqp_url: str) -> str:
    return unquote(urlsplit(amqp_url).username or "guest")


def _exchange_kwargs(exchange: Any) -> dict[str, Any]:
    return {"type": exchange.type.value, "durable": True, "arguments": dict(exchange.arguments or {})}


async def declare_topology(amqp_url: str, consumers: Iterable[Consumer], quorum: bool = True) -> None:
    """Declare the shared exchanges and each consumer's input exchange, partitions, bindings and parking queue."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        exchanges: dict[str, AbstractExchange] = {}
        for ex in topology.SHARED_EXCHANGES:
            exchanges[ex.name] = await channel.declare_exchange(ex.name, **_exchange_kwargs(ex))
        unrouted = await channel.declare_queue(
            topology.UNROUTED_QUEUE.name, durable=True, arguments=dict(topology.UNROUTED_QUEUE.arguments or {})
        )
        await unrouted.bind(exchanges[topology.UNROUTED.name])
        for consumer in consumers:
            if consumer.fanout:
                continue  # each replica declares its own exclusive queue
            inbound = await channel.declare_exchange(consumer.exchange.name, **_exchange_kwargs(consumer.exchange))
            for source, key in consumer.bindings():
                await inbound.bind(exchanges[source.name], routing_key=key)
            dlq = consumer.dlq()
            parked = await channel.declare_queue(dlq.name, durable=True, arguments=dict(dlq.arguments or {}))
            await parked.bind(exchanges[topology.DLX.name], routing_key=consumer.dlq_name)
            for index in range(consumer.partitions):
                spec = consumer.partition_queue(index, quorum)
                arguments = dict(spec.arguments or {})
                if quorum:
                    arguments["x-queue-type"] = "quorum"
                queue = await channel.declare_queue(spec.name, durable=True, arguments=arguments)
                await queue.bind(inbound, routing_key="1")  # the weight of this partition on the hash ring
    finally:
        await connection.close()


class Publisher:
    """Confirmed, mandatory publishing as this service's broker user."""

    def __init__(self, amqp_url: str, service: str) -> None:
        self.amqp_url = amqp_url
        self.service = service
        self.user = broker_user(amqp_url)
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}
        self._lock = asyncio.Lock()

    async def connect(self) -> None:
        if self._connection is None:
            self._connection = await aio_pika.connect_robust(self.amqp_url, client_properties={"app_id": self.service})

    async def _channel_ready(self) -> AbstractChannel:
        async with self._lock:
            await self.connect()
            assert self._connection is not None
            if self._channel is None or self._channel.is_closed:
                self._channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
                self._exchanges = {}
            return self._channel

    async def _exchange(self, name: str) -> AbstractExchange:
        channel = await self._channel_ready()
        if name not in self._exchanges:
            self._exchanges[name] = await channel.get_exchange(name, ensure=False)
        return self._exchanges[name]

    async def publish(
        self,
        *,
        exchange: str,
        routing_key: str,
        body: bytes,
        headers: dict[str, Any],
        message_id: str,
        message_type: str,
        correlation_id: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        """Publish and wait for the broker's confirm; `Unroutable` if it came back."""
        target = await self._exchange(exchange)
        message = aio_pika.Message(
            body,
            headers=headers,
            message_id=message_id,
            correlation_id=correlation_id,
            type=message_type,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            user_id=self.user,
            app_id=self.service,
        )
        try:
            await target.publish(message, routing_key=routing_key, mandatory=True, timeout=timeout)
        except PublishError as e:
            raise Unroutable(f"{exchange} {routing_key}") from e

    async def publish_message(self, message: Message) -> None:
        """Publish a contract message directly (tests, tools); services publish through their outbox."""
        headers: dict[str, Any] = dict(message.amqp_headers())
        headers.update(telemetry.inject_current())
        await self.publish(
            exchange=topology.exchange_for(type(message)).name,
            routing_key=message.routing_key(),
            body=message.model_dump_json().encode(),
            headers=headers,
            message_id=str(message.message_id),
            message_type=message.type,
            correlation_id=str(message.correlation_id) if message.correlation_id else None,
        )

    async def ping(self) -> bool:
        try:
            await self._channel_ready()
            return True
        except Exception:
            return False

    async def close(self) -> None:
        connection, self._connection, self._channel, self._exchanges = self._connection, None, None, {}
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()

    async def reset(self) -> None:
        """Drop the connection (a publish that got no confirm may have left its channel unusable)."""
        async with self._lock:
            await self.close()


async def _count(channel: AbstractChannel, name: str) -> int:
    queue = await channel.declare_queue(name, passive=True)
    return int(queue.declaration_result.message_count or 0)


async def parked_count(amqp_url: str, consumer: Consumer) -> int:
    connection = await aio_pika.connect(amqp_url)
    try:
        return await _count(await connection.channel(), consumer.dlq_name)
    finally:
        await connection.close()


async def _dead_letter_all(amqp_url: str, queue_name: str, limit: int) -> int:
    """Reject every message of a queue without requeue: its dead-letter exchange takes it back, intact."""
    connection = await aio_pika.connect(amqp_url)
    moved = 0
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(queue_name, passive=True)
        # Only what is there now: a replayed message that fails again comes back behind us.
        limit = min(limit, int(queue.declaration_result.message_count or 0))
        while moved < limit:
            incoming = await queue.get(fail=False, no_ack=False)
            if incoming is None:
                break
            await incoming.reject(requeue=False)
            moved += 1
    finally:
        await connection.close()
    return moved


async def replay_parked(amqp_url: str, consumer: Consumer, limit: int = 10_000) -> int:
    """Put parked messages back on their partitions (operator action after a fix)."""
    return await _dead_letter_all(amqp_url, consumer.dlq_name, limit)


async def replay_unrouted(amqp_url: str, limit: int = 10_000) -> int:
    """Publish what sat in `wiser.unrouted` again (after the consumer it was meant for was deployed)."""
    return await _dead_letter_all(amqp_url, topology.UNROUTED_QUEUE.name, limit)


async def dlq_command(amqp_url: str, consumer: Consumer, action: str) -> None:
    """`python -m wiser_<svc> dlq list|replay|unrouted|replay-unrouted`."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        if action == "list":
            print(f"{consumer.dlq_name}: {await _count(channel, consumer.dlq_name)}")
        elif action == "unrouted":
            print(f"{topology.UNROUTED_QUEUE.name}: {await _count(channel, topology.UNROUTED_QUEUE.name)}")
    finally:
        await connection.close()
    if action == "replay":
        print(f"{consumer.dlq_name}: replayed {await replay_parked(amqp_url, consumer)}")
    elif action == "replay-unrouted":
        print(f"{topology.UNROUTED_QUEUE.name}: replayed {await replay_unrouted(amqp_url)}")
