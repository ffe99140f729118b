"""Transactional outbox and inbox: exactly-once effects over an at-least-once bus.

Producers add messages to the outbox in the same transaction as their change;
the relay publishes them with publisher confirms, claiming rows with
`FOR UPDATE SKIP LOCKED` (so replicas can run relays side by side), woken by
LISTEN/NOTIFY and polling as a fallback. Consumers record `(message_id,
handler)` in the inbox in the same transaction as their effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
from opentelemetry import trace
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wiser_contracts import Message, topology

from . import metrics, telemetry

log = logging.getLogger("wiser.outbox")

EXCHANGES = {ex.name: ex for ex in (topology.EVENTS, topology.COMMANDS, topology.DLX)}


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
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("message_id", UUID(as_uuid=True), primary_key=True),
        Column("handler", String(200), primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    return outbox, inbox


async def add_to_outbox(session: AsyncSession, outbox: Table, message: Message) -> None:
    """Stage `message` for publishing when the surrounding transaction commits."""
    headers: dict[str, str] = message.amqp_headers()
    headers.update(telemetry.inject_current())
    await session.execute(
        outbox.insert().values(
            message_id=message.message_id,
            type=message.type,
            exchange=topology.exchange_for(type(message)).name,
            routing_key=message.TYPE,
            packet_id=message.packet_id,
            body=message.model_dump_json(),
            headers=headers,
        )
    )


async def record_in_inbox(session: AsyncSession, inbox: Table, message_id: uuid.UUID, handler: str) -> bool:
    """Record a consumed message; False when this handler already processed it."""
    result = await session.execute(
        insert(inbox)
        .values(message_id=message_id, handler=handler)
        .on_conflict_do_nothing()
        .returning(inbox.c.message_id)
    )
    return result.first() is not None


class OutboxRelay:
    def __init__(
        self,
        service: str,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Table,
        broker: Any,
        listen_dsn: str | None = None,
        batch_size: int = 200,
        poll_interval: float = 1.0,
    ) -> None:
        self.service = service
        self.sessions = sessions
        self.outbox = outbox
        self.broker = broker
        self.listen_dsn = listen_dsn
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.channel = f"{outbox.schema or 'public'}_outbox"
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def publish_pending(self) -> int:
        """Publish one batch of pending rows; returns how many were published."""
        o = self.outbox
        async with self.sessions() as session, session.begin():
            rows = (
                await session.execute(
                    select(
                        o.c.id,
                        o.c.message_id,
                        o.c.type,
                        o.c.exchange,
                        o.c.routing_key,
                        o.c.packet_id,
                        o.c.body,
                        o.c.headers,
                        o.c.created_at,
                    )
                    .where(o.c.published_at.is_(None))
                    .order_by(o.c.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            metrics.OUTBOX_LAG.labels(self.service).set(
                (datetime.now(UTC) - rows[0].created_at).total_seconds() if rows else 0.0
            )
            # Per packet in order; packets side by side, so confirms overlap instead of queueing.
            groups: dict[object, list[Any]] = {}
            for row in rows:
                groups.setdefault(row.packet_id or row.id, []).append(row)
            outcomes = await asyncio.gather(*(self._publish_in_order(g) for g in groups.values()))
            done = [row_id for published in outcomes for row_id in published]
            stuck = [
                g[len(published)].id
                for g, published in zip(groups.values(), outcomes, strict=True)
                if len(published) < len(g)
            ]
            if stuck:
                await session.execute(
                    update(o).where(o.c.id.in_(stuck)).values(attempts=o.c.attempts + 1, last_error="publish failed")
                )
            if done:
                await session.execute(update(o).where(o.c.id.in_(done)).values(published_at=func.now()))
                metrics.OUTBOX_PUBLISHED.labels(self.service).inc(len(done))
        return len(done)

    async def _publish_in_order(self, rows: list[Any]) -> list[int]:
        published: list[int] = []
        for row in rows:
            try:
                await self._publish(row)
            except Exception as e:
                log.warning(
                    "outbox publish failed", extra={"message_id": str(row.message_id), "error": type(e).__name__}
                )
                break
            published.append(row.id)
        return published

    async def _publish(self, row: Any) -> None:
        headers = dict(row.headers)
        with telemetry.span_from(
            headers,
            f"{row.routing_key} publish",
            trace.SpanKind.PRODUCER,
            **{telemetry.PACKET_ATTR: row.packet_id, "messaging.message.id": row.message_id},
        ):
            headers.update(telemetry.inject_current())
            await self.broker.publish(
                row.body.encode(),
                exchange=EXCHANGES[row.exchange],
                routing_key=row.routing_key,
                headers=headers,
                message_id=str(row.message_id),
                correlation_id=headers.get("correlation_id"),
                message_type=row.type,
                content_type="application/json",
                persist=True,
                mandatory=False,
            )

    async def _listen(self) -> None:
        if not self.listen_dsn:
            return
        while not self._stopping.is_set():
            try:
                conn = await asyncpg.connect(self.listen_dsn)
                try:
                    await conn.add_listener(self.channel, lambda *_: self._wake.set())
                    self._wake.set()
                    await self._stopping.wait()
                finally:
                    with contextlib.suppress(Exception):
                        await conn.close()
            except Exception:
                log.warning("outbox LISTEN unavailable, polling only")
                await asyncio.sleep(5)

    async def run(self) -> None:
        listener = asyncio.create_task(self._listen())
        try:
            while not self._stopping.is_set():
                try:
                    published = await self.publish_pending()
                except Exception:
                    log.exception("outbox relay pass failed")
                    published = 0
                if published >= self.batch_size:
                    continue
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_interval)
                await asyncio.sleep(0.002)  # let a burst of commits land in one pass
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await listener

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


__all__ = ["OutboxRelay", "add_to_outbox", "asyncpg_dsn", "notify_trigger_sql", "outbox_tables", "record_in_inbox"]
