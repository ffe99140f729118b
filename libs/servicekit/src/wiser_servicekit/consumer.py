"""Partitioned consumers: one packet's messages in order, many packets at once, across replicas.

A service's partition queues (`<service>.pNN`, see `wiser_contracts.topology`) are spread over its live
replicas by leases in the service's own database (`PartitionLeases`). A replica consumes only the
partitions it holds. Inside a replica, each packet has a *chain*: its messages are handled one after
another in arrival order, while chains of different packets run side by side (up to `concurrency`).

- A handler that raises is retried in place with backoff (`retry_delays`): the packet's later messages
  wait behind it, never overtake it; after the last delay the message is parked (`<service>.dlq`).
- A handler that raises `Defer` says "not yet": the message waits aside (unacked) and is tried again
  with backoff, and again right after any other message of the packet was applied. Later messages
  from the *same producer* queue behind it (per-producer order holds); other producers' messages go
  on, since one of them may be what makes it applicable. After `defer_budget` seconds it is parked.
- A message of a type the service does not handle, one that does not parse, or one whose AMQP
  `user_id` is not the broker user of the service that owns its type, is parked at once.
- Every park is recorded in the service's `bus_parked` table (`ParkLog`, when given): the message id, the
  queue, the error type and a PHI-free text (the exception's type and what happened, never its message
  or a field's value), so the parked-messages listing shows why without changing the message itself
  (dead-lettering must keep its AMQP `user_id`). A replay clears the queue's records.
- Releasing a partition (another replica takes it) stops consuming, lets handlers in flight finish,
  and closes its channel: whatever was received but not handled goes back to the queue in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection
from opentelemetry import trace
from pydantic import ValidationError
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wiser_contracts import Message
from wiser_contracts.topology import Consumer, Interest, owner_of, publishers_of

from . import metrics, telemetry
from .logs import packet_id_var

log = logging.getLogger("wiser.consumer")

Handler = Callable[[Any], Awaitable[None]]


class Defer(Exception):
    """The message cannot apply yet; try it again later without holding back other producers."""


@dataclass
class _Item:
    incoming: AbstractIncomingMessage
    partition: int
    message: Message
    interest: Interest
    producer: str
    deferred_since: float | None = None
    defers: int = 0


@dataclass
class _Chain:
    queue: deque[_Item] = field(default_factory=deque)
    deferred: dict[str, deque[_Item]] = field(default_factory=dict)
    next_retry: float = 0.0
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


@dataclass
class _Partition:
    channel: AbstractChannel
    queue: AbstractQueue
    tag: str
    in_flight: int = 0  # handlers running now
    waiting: int = 0  # messages set aside (early, or behind an early one of their producer)
    closing: bool = False


_DONE, _DEFERRED = "done", "deferred"


class PartitionedConsumer:
    def __init__(
        self,
        consumer: Consumer,
        handlers: dict[str, Handler],
        amqp_url: str,
        *,
        concurrency: int = 32,
        prefetch: int = 64,
        retry_delays: tuple[float, ...] = (0.2, 1.0, 5.0, 15.0),
        defer_budget: float = 120.0,
        producer_user: Callable[[str], str] | None = None,  # service -> its broker user; None: not checked
        park_log: ParkLog | None = None,
    ) -> None:
        missing = set(consumer.by_type) - set(handlers)
        if missing:
            raise ValueError(f"{consumer.service}: no handler for {sorted(missing)}")
        self.consumer = consumer
        self.handlers = handlers
        self.amqp_url = amqp_url
        self.prefetch = prefetch
        self.retry_delays = retry_delays
        self.defer_budget = defer_budget
        self.producer_user = producer_user  # owner service -> expected broker user; None: not checked
        self.park_log = park_log
        self._sem = asyncio.Semaphore(concurrency)
        self._connection: AbstractRobustConnection | None = None
        self._partitions: dict[int, _Partition] = {}
        self._chains: dict[str, _Chain] = {}

    @property
    def held(self) -> frozenset[int]:
        return frozenset(self._partitions)

    async def connect(self) -> None:
        if self._connection is None:
            self._connection = await aio_pika.connect_robust(
                self.amqp_url, client_properties={"app_id": self.consumer.service}
            )

    async def acquire(self, index: int) -> None:
        """Start consuming partition `index` (its lease is ours)."""
        if index in self._partitions:
            return
        await self.connect()
        assert self._connection is not None
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=self.prefetch)
        queue = await channel.get_queue(self.consumer.partition_name(index), ensure=False)
        part = _Partition(channel, queue, "")
        self._partitions[index] = part

        async def deliver(incoming: AbstractIncomingMessage) -> None:
            await self._on_delivery(index, incoming)

        part.tag = await queue.consume(deliver, no_ack=False)
        log.info("partition acquired", extra={"queue": queue.name})

    async def release(self, index: int, timeout: float = 30.0) -> None:
        """Stop consuming partition `index`; handlers in flight finish, the rest goes back in order."""
        part = self._partitions.get(index)
        if part is None:
            return
        part.closing = True
        with contextlib.suppress(Exception):
            await part.queue.cancel(part.tag)
        deadline = time.monotonic() + timeout
        while part.in_flight and time.monotonic() < deadline:  # noqa: ASYNC110 - a count, polled briefly
            await asyncio.sleep(0.02)
        for chain in self._chains.values():  # anything of this partition not yet started goes back to the queue
            chain.queue = deque(i for i in chain.queue if i.partition != index)
            for producer in list(chain.deferred):
                chain.deferred[producer] = deque(i for i in chain.deferred[producer] if i.partition != index)
                if not chain.deferred[producer]:
                    del chain.deferred[producer]
            chain.wake.set()
        with contextlib.suppress(Exception):
            await part.channel.close()
        del self._partitions[index]
        log.info("partition released", extra={"queue": part.queue.name})

    async def stop(self) -> None:
        for index in list(self._partitions):
            await self.release(index, timeout=10.0)
        for chain in list(self._chains.values()):
            if chain.task is not None:
                chain.task.cancel()
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
        self._connection = None

    async def ping(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

    # ------------------------------------------------------------------ receiving

    async def _on_delivery(self, index: int, incoming: AbstractIncomingMessage) -> None:
        part = self._partitions.get(index)
        if part is None or part.closing:
            return  # the channel closes soon and the message goes back to the queue
        kind = incoming.type or str((incoming.headers or {}).get("type") or "")
        interest = self.consumer.by_type.get(kind)
        if interest is None:
            await self._park(incoming, f"unexpected message type {kind[:80]!r}", "UnexpectedType")
            return
        owner = owner_of(kind)
        if self.producer_user is not None:
            allowed = {self.producer_user(service) for service in publishers_of(interest.message)}
            if incoming.user_id not in allowed:
                await self._park(
                    incoming, f"{kind} may not come from broker user {incoming.user_id!r}", "ProducerNotAllowed"
                )
                return
            owner = incoming.user_id or owner
        try:
            message = interest.message.model_validate_json(incoming.body)
        except (ValidationError, ValueError) as e:
            await self._park(incoming, f"malformed: {_safe_error(e)}", type(e).__name__)
            return
        key = str(message.packet_id or message.message_id)
        chain = self._chains.get(key)
        if chain is None:
            chain = self._chains[key] = _Chain()
        chain.queue.append(_Item(incoming, index, message, interest, owner))
        if chain.task is None or chain.task.done():
            chain.task = asyncio.create_task(self._run_chain(key, chain))
        else:
            chain.wake.set()

    async def _run_chain(self, key: str, chain: _Chain) -> None:
        try:
            while True:
                now = time.monotonic()
                if chain.deferred and now >= chain.next_retry:
                    await self._retry_deferred(chain)
                if chain.queue:
                    item = chain.queue.popleft()
                    if self._gone(item):
                        continue
                    waiting = chain.deferred.get(item.producer)
                    if waiting is not None:
                        waiting.append(item)  # behind the same producer's earlier message
                        self._partitions[item.partition].waiting += 1
                        continue
                    if await self._process(item) == _DEFERRED:
                        part = self._partitions[item.partition]
                        if part.waiting + 1 >= self.prefetch:
                            # Every message the broker will lend us is waiting: what would make this one legal
                            # cannot reach us. Park it (ops can replay it) rather than stall the partition.
                            await self._finish(
                                item, park="early, and the partition's window is full of waiting", error_type="Defer"
                            )
                            continue
                        part.waiting += 1
                        item.deferred_since = time.monotonic()
                        chain.deferred[item.producer] = deque([item])
                        chain.next_retry = min(chain.next_retry or float("inf"), time.monotonic() + 0.05)
                    elif chain.deferred:
                        chain.next_retry = 0.0  # something applied: what waited may apply now
                    continue
                if not chain.deferred:
                    return
                chain.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(chain.wake.wait(), max(0.0, chain.next_retry - time.monotonic()))
        finally:
            if self._chains.get(key) is chain and not chain.queue and not chain.deferred:
                del self._chains[key]

    async def _retry_deferred(self, chain: _Chain) -> None:
        backoff = 5.0
        for producer in list(chain.deferred):
            waiting = chain.deferred[producer]
            while waiting:
                item = waiting[0]
                if self._gone(item):
                    waiting.popleft()
                    continue
                part = self._partitions[item.partition]
                if await self._process(item) == _DEFERRED:
                    item.defers += 1
                    if item.deferred_since is None:  # it waited behind its producer's earlier message until now
                        item.deferred_since = time.monotonic()
                    if time.monotonic() - item.deferred_since >= self.defer_budget:
                        waiting.popleft()
                        part.waiting -= 1
                        await self._finish(
                            item, park=f"still not applicable after {self.defer_budget:.0f}s", error_type="Defer"
                        )
                        continue
                    backoff = min(backoff, 0.05 * 2 ** min(item.defers, 7))
                    break
                waiting.popleft()
                part.waiting -= 1
            if not waiting:
                del chain.deferred[producer]
        chain.next_retry = time.monotonic() + backoff

    def _gone(self, item: _Item) -> bool:
        part = self._partitions.get(item.partition)
        return part is None or part.closing or part.channel.is_closed

    async def _process(self, item: _Item) -> str:
        """Run the handler, retrying in place; ack, park, or report it deferred."""
        part = self._partitions[item.partition]
        part.in_flight += 1
        try:
            return await self._attempts(item)
        finally:
            part.in_flight -= 1

    async def _attempts(self, item: _Item) -> str:
        message, queue = item.message, self.consumer.partition_name(item.partition)
        attempt = 0
        while True:
            token = packet_id_var.set(str(message.packet_id) if message.packet_id else None)
            try:
                async with self._sem:
                    with telemetry.span_from(
                        item.incoming.headers,
                        f"{self.consumer.service}.{item.interest.handler} process",
                        trace.SpanKind.CONSUMER,
                        **{telemetry.PACKET_ATTR: message.packet_id, "messaging.message.id": message.message_id},
                    ) as span:
                        try:
                            await self.handlers[message.type](message)
                        except Defer:
                            metrics.MESSAGES_CONSUMED.labels(self.consumer.service, queue, "deferred").inc()
                            return _DEFERRED
                        except Exception as e:
                            span.record_exception(e, attributes={"exception.message": ""})
                            error: Exception | None = e
                        else:
                            error = None
            finally:
                packet_id_var.reset(token)
            if error is None:
                metrics.MESSAGES_CONSUMED.labels(self.consumer.service, queue, "ok").inc()
                await self._finish(item)
                return _DONE
            log.warning(
                "handler failed",
                extra={
                    "queue": queue,
                    "message_id": str(message.message_id),
                    "attempt": attempt,
                    "error": type(error).__name__,
                },
            )
            if attempt >= len(self.retry_delays):
                await self._finish(
                    item,
                    park=_handler_error(error, item.interest.handler, attempt + 1),
                    error_type=type(error).__name__,
                )
                return _DONE
            metrics.MESSAGES_CONSUMED.labels(self.consumer.service, queue, "retry").inc()
            await asyncio.sleep(self.retry_delays[attempt])
            attempt += 1

    async def _finish(self, item: _Item, park: str | None = None, error_type: str = "Parked") -> None:
        try:
            if park is None:
                await item.incoming.ack()
            else:
                await self._park(item.incoming, park, error_type)
        except Exception:
            # The channel went away: the broker redelivers it, and the inbox makes that harmless.
            log.warning("ack failed", extra={"message_id": str(item.message.message_id)})

    async def _park(self, incoming: AbstractIncomingMessage, error: str, error_type: str = "Parked") -> None:
        metrics.MESSAGES_CONSUMED.labels(self.consumer.service, self.consumer.dlq_name, "parked").inc()
        log.error(
            "message parked",
            extra={"queue": self.consumer.dlq_name, "message_id": incoming.message_id, "error": error[:300]},
        )
        if self.park_log is not None and incoming.message_id:
            try:  # recorded first: once rejected, a replay may race the record
                await self.park_log.record(incoming.message_id, self.consumer.dlq_name, error_type, error)
            except Exception:
                log.warning("park not recorded", extra={"message_id": incoming.message_id})
        await incoming.reject(requeue=False)  # the partition queue dead-letters it into <service>.dlq


def _handler_error(e: BaseException, handler: str, attempts: int) -> str:
    """What ops sees of a handler's failure: the exception's type (and its `code`, if it has a short one),
    never its message, which may quote a packet's values."""
    code = getattr(e, "code", None)
    suffix = f" [{code}]" if isinstance(code, str) and code.replace("_", "").isalnum() and len(code) <= 64 else ""
    return f"{type(e).__name__}{suffix} in {handler} after {attempts} attempts"


def _safe_error(e: BaseException) -> str:
    # Errors name fields and types, not values: pydantic's own text includes input values.
    if isinstance(e, ValidationError):
        return "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['type']}" for err in e.errors())[:500]
    return type(e).__name__


# ---------------------------------------------------------------------- leases


def lease_tables(metadata: MetaData) -> tuple[Table, Table]:
    """Partition leases and replica heartbeats, in the service's own schema."""
    leases = Table(
        "bus_leases",
        metadata,
        Column("partition", Integer, primary_key=True, autoincrement=False),
        Column("owner", String(64)),
        Column("expires_at", DateTime(timezone=True)),
    )
    replicas = Table(
        "bus_replicas",
        metadata,
        Column("replica_id", String(64), primary_key=True),
        Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    parked_table(metadata)  # the bus's tables come together (bus_migration adds them per service)
    return leases, replicas


def parked_table(metadata: MetaData) -> Table:
    """Why each parked message was parked, in the service's own schema (`bus_migration.upgrade_parked`)."""
    key = f"{metadata.schema}.bus_parked" if metadata.schema else "bus_parked"
    if key in metadata.tables:
        return metadata.tables[key]
    return Table(
        "bus_parked",
        metadata,
        Column("message_id", String(64), primary_key=True),
        Column("queue", String(128), nullable=False),
        Column("error_type", String(80), nullable=False),
        Column("error", String(300), nullable=False),
        Column("parked_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class ParkLog:
    """The service's record of why its messages were parked: written on park, read by the listing,
    cleared by a replay (a message parked again gets a fresh record)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], table: Table) -> None:
        self.sessions = sessions
        self.table = table

    async def record(self, message_id: str, queue: str, error_type: str, error: str) -> None:
        values = {
            "queue": queue[:128],
            "error_type": error_type[:80],
            "error": error[:300],
            "parked_at": func.now(),
        }
        async with self.sessions() as session, session.begin():
            await session.execute(
                insert(self.table)
                .values(message_id=message_id[:64], **values)
                .on_conflict_do_update(index_elements=["message_id"], set_=values)
            )

    async def errors(self, message_ids: list[str]) -> dict[str, dict[str, Any]]:
        """message id -> {error_type, error, parked_at} for those that have a record."""
        ids = [i[:64] for i in message_ids if i]
        if not ids:
            return {}
        t = self.table.c
        async with self.sessions() as session:
            rows = await session.execute(
                select(t.message_id, t.queue, t.error_type, t.error, t.parked_at).where(t.message_id.in_(ids))
            )
            return {
                r.message_id: {
                    "queue": r.queue,
                    "error_type": r.error_type,
                    "error": r.error,
                    "parked_at": r.parked_at.isoformat() if r.parked_at else None,
                }
                for r in rows
            }

    async def clear(self, queue: str, before: datetime) -> int:
        """Forget the queue's records from before `before` (a replay's start: what parks again keeps its own)."""
        t = self.table.c
        async with self.sessions() as session, session.begin():
            result = await session.execute(delete(self.table).where(t.queue == queue, t.parked_at < before))
            return int(getattr(result, "rowcount", 0) or 0)


class PartitionLeases:
    """Spreads a service's partitions over its live replicas; hands a dead replica's over after `ttl`.

    Every `interval` each replica records a heartbeat, works out which partitions are its share of the
    live replicas (partition p goes to the (p mod n)-th live replica by start time), releases what it
    should no longer hold (after its consumer let go), takes free or expired leases of its share, and
    renews the rest. A replica that cannot renew stops consuming before its leases can expire.
    """

    def __init__(
        self,
        consumer: PartitionedConsumer,
        sessions: async_sessionmaker[AsyncSession],
        leases: Table,
        replicas: Table,
        *,
        ttl: float = 10.0,
        interval: float = 2.0,
        replica_id: str | None = None,
    ) -> None:
        self.consumer = consumer
        self.sessions = sessions
        self.leases = leases
        self.replicas = replicas
        self.ttl = ttl
        self.interval = interval
        self.replica_id = replica_id or uuid.uuid4().hex
        self.partitions = consumer.consumer.partitions
        self._task: asyncio.Task[None] | None = None
        self._last_renewal = 0.0

    async def rebalance(self) -> None:
        """One round: heartbeat, release what is no longer ours, take and renew our share."""
        ttl = func.make_interval(0, 0, 0, 0, 0, 0, self.ttl)
        async with self.sessions() as session, session.begin():
            await session.execute(
                insert(self.replicas)
                .values(replica_id=self.replica_id)
                .on_conflict_do_update(index_elements=["replica_id"], set_={"seen_at": func.now()})
            )
            await session.execute(delete(self.replicas).where(self.replicas.c.seen_at < func.now() - ttl * 6))
            await session.execute(
                insert(self.leases).values([{"partition": p} for p in range(self.partitions)]).on_conflict_do_nothing()
            )
            live = [
                r.replica_id
                for r in await session.execute(
                    select(self.replicas.c.replica_id)
                    .where(self.replicas.c.seen_at >= func.now() - ttl)
                    .order_by(self.replicas.c.started_at, self.replicas.c.replica_id)
                )
            ]
        if self.replica_id not in live:
            live.append(self.replica_id)
        share = {p for p in range(self.partitions) if live[p % len(live)] == self.replica_id}
        for p in sorted(self.consumer.held - share):
            await self.consumer.release(p)
            async with self.sessions() as session, session.begin():
                await session.execute(
                    update(self.leases)
                    .where(self.leases.c.partition == p, self.leases.c.owner == self.replica_id)
                    .values(owner=None, expires_at=None)
                )
        async with self.sessions() as session, session.begin():
            l_ = self.leases.c
            rows = await session.execute(
                update(self.leases)
                .where(
                    l_.partition.in_(share),
                    (l_.owner.is_(None)) | (l_.owner == self.replica_id) | (l_.expires_at < func.now()),
                )
                .values(owner=self.replica_id, expires_at=func.now() + ttl)
                .returning(l_.partition)
            )
            granted = {r.partition for r in rows}
        self._last_renewal = time.monotonic()
        for p in sorted(self.consumer.held - granted):  # lost it (we were too slow): let go at once
            await self.consumer.release(p)
        for p in sorted(granted - self.consumer.held):
            await self.consumer.acquire(p)

    async def run(self) -> None:
        while True:
            try:
                await self.rebalance()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("partition rebalance failed")
                if self.consumer.held and time.monotonic() - self._last_renewal > self.ttl * 0.6:
                    for p in sorted(self.consumer.held):  # our leases may expire: stop before anyone takes over
                        await self.consumer.release(p, timeout=self.ttl * 0.2)
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self.consumer.stop()
        with contextlib.suppress(Exception):
            async with self.sessions() as session, session.begin():
                await session.execute(
                    update(self.leases)
                    .where(self.leases.c.owner == self.replica_id)
                    .values(owner=None, expires_at=None)
                )
                await session.execute(delete(self.replicas).where(self.replicas.c.replica_id == self.replica_id))
