"""Transactional outbox and inbox: exactly-once effects over an at-least-once bus.

Producers add messages to the outbox in the same transaction as their change. The relay publishes
them: one active relay per service (a PostgreSQL advisory lock; other replicas stand by), which reads
pending rows, publishes each packet's rows in order (packets side by side) with publisher confirms,
and only then marks them sent, holding no transaction or row lock while it talks to the broker.

- Nothing is silently unroutable: every row is published `mandatory`; a command nobody consumes
  comes back (`Unroutable`), is counted, logged as an alert and retried; an event with no subscriber
  yet lands in `wiser.unrouted` through the events exchange's alternate exchange.
- Attempts are counted per row, with backoff; a row that keeps failing is parked (`parked_at`), where
  ops can see and replay it (`python -m wiser_<svc> outbox list|replay`). A parked or waiting row holds
  back its own packet's later rows, never other packets' rows.
- A broker outage is not a row's fault: the pass stops without counting attempts.

Consumers record `(message_id, handler)` in the inbox in the same transaction as their effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from opentelemetry import trace
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wiser_contracts import Message, topology

from . import metrics, telemetry
from .bus import Publisher, Unroutable
from .rawsql import decode, driver_connection, table_name

log = logging.getLogger("wiser.outbox")

MAX_ATTEMPTS = 8


def outbox_tables(metadata: MetaData) -> tuple[Table, Table]:
    """The outbox and inbox tables, in the service's own schema."""
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("message_id", UUID(as_uuid=True), nullable=False, unique=True),
        Column("type", String(120), nullable=False),
        Column("exchange", String(120), nullable=False),
        Column("routing_key", String(200), nullable=False),
        Column("packet_id", UUID(as_uuid=True)),
        Column("body", Text, nullable=False),
        Column("headers", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
        Column("attempts", Integer, nullable=False, server_default="0"),
        Column("last_error", Text),
        Column("next_attempt_at", DateTime(timezone=True)),
        Column("parked_at", DateTime(timezone=True)),
        Index("outbox_pending", "id", postgresql_where=text("published_at IS NULL")),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("message_id", UUID(as_uuid=True), primary_key=True),
        Column("handler", String(200), primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    return outbox, inbox


_SQL: dict[tuple[str, str], str] = {}


def _sql(kind: str, table: Table) -> str:
    """The statement for `kind` on `table`, built once: every message of every service runs one of these. The
    only names in it are the service's own table's, never input."""
    key = (kind, table_name(table))
    if key not in _SQL:
        if kind == "pending":  # every column but published_at and last_error, oldest first
            _SQL[key] = (
                "SELECT id, message_id, type, exchange, routing_key, packet_id, body, headers, created_at, "  # noqa: S608
                f"attempts, next_attempt_at, parked_at, NULL AS published_at, NULL AS last_error FROM {key[1]} "
                "WHERE published_at IS NULL ORDER BY id LIMIT $1"
            )
        elif kind == "published":
            _SQL[key] = f"UPDATE {key[1]} SET published_at = now() WHERE id = ANY($1::bigint[])"  # noqa: S608
        elif kind == "outbox":
            _SQL[key] = (
                f"INSERT INTO {key[1]} (message_id, type, exchange, routing_key, packet_id, body, headers) "  # noqa: S608
                "VALUES ($1, $2, $3, $4, $5, $6, $7)"
            )
        else:
            _SQL[key] = (
                f"INSERT INTO {key[1]} (message_id, handler) VALUES ($1, $2) "  # noqa: S608
                "ON CONFLICT DO NOTHING RETURNING message_id"
            )
    return _SQL[key]


async def add_to_outbox(session: AsyncSession, outbox: Table, message: Message) -> None:
    """Stage `message` for publishing when the surrounding transaction commits."""
    headers: dict[str, str] = message.amqp_headers()
    headers.update(telemetry.inject_current())
    conn = await driver_connection(session)
    await conn.execute(
        _sql("outbox", outbox),
        message.message_id,
        message.type,
        topology.exchange_for(type(message)).name,
        message.routing_key(),
        message.packet_id,
        message.model_dump_json(),
        json.dumps(headers),  # SQLAlchemy's asyncpg dialect gives jsonb a text codec
    )


async def record_in_inbox(session: AsyncSession, inbox: Table, message_id: uuid.UUID, handler: str) -> bool:
    """Record a consumed message; False when this handler already processed it."""
    conn = await driver_connection(session)
    return await conn.fetchval(_sql("inbox", inbox), message_id, handler) is not None


class OutboxRelay:
    def __init__(
        self,
        service: str,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Table,
        publisher: Publisher,
        listen_dsn: str | None = None,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.service = service
        self.sessions = sessions
        self.outbox = outbox
        self.publisher = publisher
        self.listen_dsn = listen_dsn
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.max_attempts = max_attempts
        self.channel = f"{outbox.schema or 'public'}_outbox"
        self.lock_key = zlib.crc32(f"wiser-outbox-relay:{outbox.schema}".encode())
        self.active = False
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._conn: asyncpg.Connection | None = None
        self._in_flight = asyncio.Semaphore(64)  # publishes awaiting their confirm at once

    async def publish_pending(self) -> int:
        """Publish one batch of pending rows; returns how many were published."""
        o = self.outbox
        now = datetime.now(UTC)
        async with self.sessions() as session:
            conn = await driver_connection(session, transaction=False)
            rows = [decode(o, r) for r in await conn.fetch(_sql("pending", o), self.batch_size)]
        metrics.OUTBOX_LAG.labels(self.service).set((now - rows[0].created_at).total_seconds() if rows else 0.0)
        # Per packet in id order; a parked row, or one waiting for its next attempt, holds back the rows after it.
        groups: dict[object, list[Any]] = {}
        blocked: set[object] = set()
        for row in rows:
            key = row.packet_id or row.id
            if key in blocked:
                continue
            if row.parked_at is not None or (row.next_attempt_at is not None and row.next_attempt_at > now):
                blocked.add(key)
                continue
            groups.setdefault(key, []).append(row)
        if not groups:
            return 0
        outcomes = await asyncio.gather(*(self._publish_in_order(g) for g in groups.values()))
        down = any(failure is _DOWN for _, failure in outcomes)
        if down:
            await self.publisher.reset()  # reconnect before the next pass; what was confirmed is still marked
        done = [row_id for published, _ in outcomes for row_id in published]
        async with self.sessions() as session, session.begin():
            if done:
                await (await driver_connection(session)).execute(_sql("published", o), done)
            for _, failure in outcomes:
                if failure is None or failure is _DOWN:
                    continue
                row, error = failure
                attempts = row.attempts + 1
                parked = attempts >= self.max_attempts
                await session.execute(
                    update(o)
                    .where(o.c.id == row.id)
                    .values(
                        attempts=attempts,
                        last_error=error[:500],
                        next_attempt_at=now + timedelta(seconds=min(60.0, 0.5 * 2**attempts)),
                        parked_at=func.now() if parked else None,
                    )
                )
                if parked:
                    metrics.OUTBOX_PARKED.labels(self.service).inc()
                    log.error("outbox row parked", extra={"message_id": str(row.message_id), "error": error[:200]})
        if done:
            metrics.OUTBOX_PUBLISHED.labels(self.service).inc(len(done))
        if down:
            raise _BrokerDown
        return len(done)

    async def _publish_in_order(self, rows: list[Any]) -> tuple[list[int], Any]:
        """Publish one packet's rows in order; stop at the first failure (the rows after it wait)."""
        published: list[int] = []
        for row in rows:
            try:
                async with self._in_flight:
                    await self._publish(row)
            except Unroutable:
                metrics.OUTBOX_UNROUTABLE.labels(self.service, row.type).inc()
                log.error(
                    "unroutable message returned by the broker",
                    extra={"message_id": str(row.message_id), "routing_key": row.routing_key, "alert": True},
                )
                return published, (row, f"unroutable: nothing is bound to {row.exchange} {row.routing_key}")
            except (TimeoutError, ConnectionError, OSError):
                return published, _DOWN  # the broker's fault, not the row's: no attempt is counted
            except Exception as e:
                if not await self.publisher.ping():
                    return published, _DOWN
                log.warning(
                    "outbox publish failed", extra={"message_id": str(row.message_id), "error": type(e).__name__}
                )
                return published, (row, type(e).__name__)
            published.append(row.id)
        return published, None

    async def _publish(self, row: Any) -> None:
        headers = dict(row.headers)
        with telemetry.span_from(
            headers,
            f"{row.routing_key} publish",
            trace.SpanKind.PRODUCER,
            **{telemetry.PACKET_ATTR: row.packet_id, "messaging.message.id": row.message_id},
        ):
            headers.update(telemetry.inject_current())
            await self.publisher.publish(
                exchange=row.exchange,
                routing_key=row.routing_key,
                body=row.body.encode(),
                headers=headers,
                message_id=str(row.message_id),
                message_type=row.type,
                correlation_id=headers.get("correlation_id"),
            )

    async def _hold_lock(self) -> bool:
        """Be the service's one active relay: a session advisory lock on a connection of our own."""
        if not self.listen_dsn:
            self.active = True  # no dedicated connection (tests): run as the only relay
            return True
        if self._conn is not None and self._conn.is_closed():
            self._conn, self.active = None, False
        if self._conn is None:
            self._conn = await asyncpg.connect(self.listen_dsn)
            await self._conn.add_listener(self.channel, lambda *_: self._wake.set())
        if not self.active:
            self.active = bool(await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", self.lock_key))
            if self.active:
                log.info("outbox relay active", extra={"service": self.service})
        return self.active

    async def run(self) -> None:
        while not self._stopping.is_set():
            # Cleared before the pass: a commit during the pass wakes the wait after it.
            self._wake.clear()
            try:
                if not await self._hold_lock():
                    # Another replica relays: stand by, deaf to commits (they are not ours to publish).
                    await self._pause(self.poll_interval * 2)
                    continue
                published = await self.publish_pending()
            except _BrokerDown:
                log.warning("outbox relay: broker unavailable")
                await self._pause(1.0)
                continue
            except Exception:
                log.exception("outbox relay pass failed")
                with contextlib.suppress(Exception):
                    if self._conn is not None:
                        await self._conn.close()
                self._conn, self.active = None, False
                await self._pause(1.0)
                continue
            if published >= self.batch_size:
                continue
            await self._sleep(self.poll_interval)
            await asyncio.sleep(0.002)  # let a burst of commits land in one pass

    async def _sleep(self, seconds: float) -> None:
        """Until a commit notifies us, or `seconds`."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def _pause(self, seconds: float) -> None:
        """`seconds`, unless we are stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run())

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, 10)
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn, self.active = None, False


class _BrokerDown(Exception):
    pass


_DOWN = object()  # a publish failed for the broker's reasons (connection, no confirm in time)


async def parked_rows(sessions: async_sessionmaker[AsyncSession], outbox: Table) -> list[dict[str, Any]]:
    """Outbox rows the relay gave up on (ops: `outbox list`)."""
    o = outbox.c
    async with sessions() as session:
        rows = await session.execute(
            select(o.id, o.message_id, o.type, o.routing_key, o.packet_id, o.attempts, o.last_error, o.parked_at)
            .where(and_(o.parked_at.is_not(None), o.published_at.is_(None)))
            .order_by(o.id)
        )
        return [dict(r._mapping) for r in rows]


async def replay_parked_rows(sessions: async_sessionmaker[AsyncSession], outbox: Table) -> int:
    """Give parked outbox rows a fresh budget (ops: `outbox replay`, after the cause is fixed)."""
    async with sessions() as session, session.begin():
        result = await session.execute(
            update(outbox)
            .where(outbox.c.parked_at.is_not(None), outbox.c.published_at.is_(None))
            .values(parked_at=None, attempts=0, next_attempt_at=None)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def notify_trigger_sql(schema: str) -> list[str]:
    """SQL for the migration: NOTIFY the relay when outbox rows are inserted."""
    return [
        f"""CREATE OR REPLACE FUNCTION "{schema}".outbox_notify() RETURNS trigger AS $$
        BEGIN PERFORM pg_notify('{schema}_outbox', ''); RETURN NULL; END; $$ LANGUAGE plpgsql""",
        f"""CREATE TRIGGER outbox_notify AFTER INSERT ON "{schema}".outbox
        FOR EACH STATEMENT EXECUTE FUNCTION "{schema}".outbox_notify()""",
    ]


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://")


__all__ = [
    "OutboxRelay",
    "add_to_outbox",
    "asyncpg_dsn",
    "notify_trigger_sql",
    "outbox_tables",
    "parked_rows",
    "record_in_inbox",
    "replay_parked_rows",
]
