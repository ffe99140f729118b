"""Outbound's unit of work over its tables (usecases/ports.py): one transaction, outbox and inbox included."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wiser_servicekit import rawsql
from wiser_servicekit.db import SqlUnitOfWork

from ..usecases import ports
from ..usecases.ports import Copy, Delivery, Subscription, WebhookAttempt, WebhookDelivery
from .tables import (
    attempts,
    callbacks,
    copies,
    deliveries,
    heard,
    inbox,
    outbox,
    packets,
    subscriptions,
    webhook_attempts,
    webhook_deliveries,
)

# Outbound's own tables (its schema is the connection's search_path); values are parameters.
_ACTIVE_FOR = (
    "SELECT * FROM subscriptions WHERE client_id = $1 AND removed_at IS NULL AND registered_at IS NOT NULL"
    " AND events && $2::varchar[]"
)


class SqlPackets:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    # owner, hold_client and heard run for every transition of every packet: prepared statements on asyncpg.
    async def owner(self, packet_id: uuid.UUID) -> tuple[str, str] | None:
        conn = await rawsql.driver_connection(self.s)
        row = await conn.fetchrow("SELECT client_id, channel FROM packets WHERE packet_id = $1", packet_id)
        return (row["client_id"], row["channel"]) if row else None

    async def remember(self, packet_id: uuid.UUID, client_id: str, channel: str) -> None:
        await self.s.execute(
            insert(packets).values(packet_id=packet_id, client_id=client_id, channel=channel).on_conflict_do_nothing()
        )

    async def hold_client(self, client_id: str, *, exclusive: bool = False) -> None:
        lock = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        conn = await rawsql.driver_connection(self.s)
        await conn.execute(f"SELECT {lock}(hashtext('outbound.webhooks:' || $1::text))", client_id)

    async def heard(self, event: ports.Heard) -> None:
        await rawsql.insert(await rawsql.driver_connection(self.s), heard, asdict(event), skip_conflict=True)

    async def heard_since(self, client_id: str, since: datetime) -> list[ports.Heard]:
        rows = (
            await self.s.execute(
                select(heard)
                .where(heard.c.client_id == client_id, heard.c.occurred_at >= since)
                .order_by(heard.c.occurred_at, heard.c.message_id)
            )
        ).all()
        return [ports.Heard(**r._asdict()) for r in rows]

    async def forget_heard(self, before: datetime) -> int:
        result = await self.s.execute(delete(heard).where(heard.c.occurred_at < before))
        return int(getattr(result, "rowcount", 0) or 0)


def _subscription(row: Any) -> Subscription:
    secret = (row.secret or {}).get("secret")
    return Subscription(row.id, row.client_id, row.url, tuple(row.events), secret, row.removed_at is not None)


class SqlSubscriptions:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def registered(
        self, id: uuid.UUID, client_id: str, url: str, events: tuple[str, ...], secret: str, at: datetime
    ) -> None:
        values = {"client_id": client_id, "url": url, "events": list(events), "secret": {"secret": secret}}
        await self.s.execute(
            insert(subscriptions)
            .values(id=id, registered_at=at, **values)
            .on_conflict_do_update(index_elements=[subscriptions.c.id], set_={**values, "registered_at": at})
        )

    async def removed(self, id: uuid.UUID, client_id: str, at: datetime) -> None:
        await self.s.execute(
            insert(subscriptions)
            .values(id=id, client_id=client_id, url="", events=[], removed_at=at)
            .on_conflict_do_update(index_elements=[subscriptions.c.id], set_={"removed_at": at})
        )

    async def active_for(self, client_id: str, kinds: list[str]) -> list[Subscription]:
        conn = await rawsql.driver_connection(self.s)
        rows = await conn.fetch(_ACTIVE_FOR, client_id, kinds)
        return [_subscription(rawsql.decode(subscriptions, r)) for r in rows]

    async def get(self, id: uuid.UUID) -> Subscription | None:
        row = (await self.s.execute(select(subscriptions).where(subscriptions.c.id == id))).first()
        return _subscription(row) if row else None


def _webhook(row: Any) -> WebhookDelivery:
    return WebhookDelivery(
        row.id, row.event_id, row.subscription_id, row.packet_id, row.kind, row.body, row.status, row.attempts,
        row.created_at,
    )  # fmt: skip


class SqlWebhookDeliveries:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(
        self, event_id: uuid.UUID, subscription_id: uuid.UUID, packet_id: uuid.UUID, kind: str, body: str, at: datetime
    ) -> bool:
        result = await self.s.execute(
            insert(webhook_deliveries)
            .values(
                event_id=event_id,
                subscription_id=subscription_id,
                packet_id=packet_id,
                kind=kind,
                body=body,
                status="pending",
                created_at=at,
                next_attempt_at=at,
            )
            .on_conflict_do_nothing()
            .returning(webhook_deliveries.c.id)
        )
        return result.first() is not None

    async def claim_due(self, now: datetime, limit: int, until: datetime) -> list[WebhookDelivery]:
        ids = [
            r.id
            for r in (
                await self.s.execute(
                    select(webhook_deliveries.c.id)
                    .where(webhook_deliveries.c.status == "pending", webhook_deliveries.c.next_attempt_at <= now)
                    .order_by(webhook_deliveries.c.next_attempt_at)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
        ]
        if not ids:
            return []
        rows = (
            await self.s.execute(
                update(webhook_deliveries)
                .where(webhook_deliveries.c.id.in_(ids))
                .values(next_attempt_at=until)
                .returning(*webhook_deliveries.c)
            )
        ).all()
        return [_webhook(r) for r in rows]

    async def attempted(
        self, delivery_id: int, attempt: WebhookAttempt, status: str, next_attempt_at: datetime | None
    ) -> None:
        await self.s.execute(
            webhook_attempts.insert().values(
                delivery_id=delivery_id,
                n=attempt.n,
                at=attempt.at,
                status_code=attempt.status_code,
                response=attempt.response,
                error=attempt.error,
                duration_ms=attempt.duration_ms,
            )
        )
        finished = attempt.at if status != "pending" else None
        await self.s.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.id == delivery_id)
            .values(
                attempts=attempt.n,
                status=status,
                next_attempt_at=next_attempt_at,
                last_status=attempt.status_code,
                last_error=attempt.error,
                finished_at=finished,
            )
        )

    async def postpone(self, delivery_id: int, at: datetime) -> None:
        await self.s.execute(
            update(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id).values(next_attempt_at=at)
        )

    async def cancel_pending(self, subscription_id: uuid.UUID, at: datetime) -> None:
        await self.s.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.subscription_id == subscription_id, webhook_deliveries.c.status == "pending")
            .values(status="cancelled", finished_at=at, next_attempt_at=None)
        )

    async def open_for_event(self, event_id: uuid.UUID) -> bool:
        row = (
            await self.s.execute(
                select(webhook_deliveries.c.id).where(
                    webhook_deliveries.c.event_id == event_id,
                    webhook_deliveries.c.status.in_(("pending", "delivered")),
                )
            )
        ).first()
        return row is not None


def _delivery(row: Any) -> Delivery:
    return Delivery(
        row.id, row.packet_id, row.round, row.packet_version, row.set_id, row.kind, row.status, row.created_at,
        row.error, row.purpose,
    )  # fmt: skip


class SqlDeliveries:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def latest(self, packet_id: uuid.UUID, lock: bool = False, purpose: str = "decision") -> Delivery | None:
        q = (
            select(deliveries)
            .where(deliveries.c.packet_id == packet_id, deliveries.c.purpose == purpose)
            .order_by(deliveries.c.round.desc())
            .limit(1)
        )
        row = (await self.s.execute(q.with_for_update() if lock else q)).first()
        return _delivery(row) if row else None

    async def get(self, delivery_id: uuid.UUID, lock: bool = False) -> Delivery | None:
        q = select(deliveries).where(deliveries.c.id == delivery_id)
        row = (await self.s.execute(q.with_for_update() if lock else q)).first()
        return _delivery(row) if row else None

    async def add(self, delivery: Delivery) -> None:
        await self.s.execute(
            deliveries.insert().values(
                id=delivery.id,
                packet_id=delivery.packet_id,
                purpose=delivery.purpose,
                round=delivery.round,
                packet_version=delivery.packet_version,
                set_id=delivery.set_id,
                kind=delivery.kind,
                status=delivery.status,
                created_at=delivery.created_at,
            )
        )

    async def finish(self, delivery_id: uuid.UUID, status: str, at: datetime, error: str | None = None) -> None:
        await self.s.execute(
            update(deliveries).where(deliveries.c.id == delivery_id).values(status=status, finished_at=at, error=error)
        )


COPY_FIELDS = (
    "id", "delivery_id", "recipient", "channel", "letter_id", "destination", "status", "attempts", "first_at",
    "reference", "next_attempt_at", "provider_id", "provider_status", "last_error", "confirmed_at",
)  # fmt: skip


def _copy(row: Any) -> Copy:
    return Copy(**{f: getattr(row, f) for f in COPY_FIELDS})


class SqlCopies:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def of_delivery(self, delivery_id: uuid.UUID) -> list[Copy]:
        rows = (await self.s.execute(select(copies).where(copies.c.delivery_id == delivery_id))).all()
        return [_copy(r) for r in rows]

    async def add(self, copy: Copy) -> None:
        await self.s.execute(copies.insert().values(**{f: getattr(copy, f) for f in COPY_FIELDS}))

    async def get(self, copy_id: uuid.UUID, lock: bool = False) -> Copy | None:
        q = select(copies).where(copies.c.id == copy_id)
        row = (await self.s.execute(q.with_for_update() if lock else q)).first()
        return _copy(row) if row else None

    async def by_reference(self, reference: str, lock: bool = False) -> Copy | None:
        q = select(copies).where(copies.c.reference == reference)
        row = (await self.s.execute(q.with_for_update() if lock else q)).first()
        return _copy(row) if row else None

    async def by_provider_id(self, channel: str, provider_id: str) -> Copy | None:
        q = select(copies).where(copies.c.channel == channel, copies.c.provider_id == provider_id)
        row = (await self.s.execute(q.with_for_update())).first()
        return _copy(row) if row else None

    async def update(self, copy_id: uuid.UUID, **values: Any) -> None:
        await self.s.execute(update(copies).where(copies.c.id == copy_id).values(**values))

    async def claim_due(self, now: datetime, limit: int, until: datetime) -> list[Copy]:
        ids = [
            r.id
            for r in (
                await self.s.execute(
                    select(copies.c.id)
                    .where(copies.c.status.in_(("pending", "sending", "sent")), copies.c.next_attempt_at <= now)
                    .order_by(copies.c.next_attempt_at)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
        ]
        if not ids:
            return []
        rows = (
            await self.s.execute(
                update(copies).where(copies.c.id.in_(ids)).values(next_attempt_at=until).returning(*copies.c)
            )
        ).all()
        return [_copy(r) for r in rows]


class SqlAttempts:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def started(self, copy_id: uuid.UUID, n: int, at: datetime) -> None:
        await self.s.execute(attempts.insert().values(copy_id=copy_id, n=n, started_at=at, outcome="started"))

    async def finished(
        self, copy_id: uuid.UUID, n: int, at: datetime, outcome: str, status: int | None, response: str | None,
        error: str | None,
    ) -> None:  # fmt: skip
        values = {
            "finished_at": at,
            "outcome": outcome,
            "peer_status": status,
            "peer_response": (response or "")[:1000] or None,
            "error": error,
        }
        result = await self.s.execute(
            update(attempts)
            .where(attempts.c.copy_id == copy_id, attempts.c.n == n, attempts.c.outcome == "started")
            .values(**values)
            .returning(attempts.c.id)
        )
        if result.first() is None:
            await self.s.execute(attempts.insert().values(copy_id=copy_id, n=n, started_at=at, **values))


class SqlCallbacks:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def first_time(self, provider: str, event_id: str, body: dict[str, Any]) -> bool:
        result = await self.s.execute(
            insert(callbacks)
            .values(provider=provider, event_id=event_id, body=body)
            .on_conflict_do_nothing()
            .returning(callbacks.c.event_id)
        )
        return result.first() is not None


class OutboundUnitOfWork(SqlUnitOfWork):
    """`async with uow:` opens one transaction; `commit()` makes the effects, outbox rows and inbox record stick
    together; leaving without it rolls all of them back."""

    packets: ports.Packets
    subscriptions: ports.Subscriptions
    webhooks: ports.WebhookDeliveries
    deliveries: ports.Deliveries
    copies: ports.Copies
    attempts: ports.Attempts
    callbacks: ports.Callbacks

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(sessions, outbox, inbox)

    def repositories(self, session: AsyncSession) -> None:
        self.packets = SqlPackets(session)
        self.subscriptions = SqlSubscriptions(session)
        self.webhooks = SqlWebhookDeliveries(session)
        self.deliveries = SqlDeliveries(session)
        self.copies = SqlCopies(session)
        self.attempts = SqlAttempts(session)
        self.callbacks = SqlCallbacks(session)
