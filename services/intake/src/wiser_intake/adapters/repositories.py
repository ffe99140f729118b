"""Intake's repositories over its own tables (one per aggregate), and the unit of work that holds them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wiser_servicekit import rawsql
from wiser_servicekit.db import SqlUnitOfWork

from ..domain.packet import PacketIn
from .search_keys import search_keys as packet_search_keys
from .tables import (
    corrections,
    diagnoses,
    documents,
    inbox,
    outbox,
    packets,
    rejections,
    service_lines,
    transitions,
    webhooks,
)


def search_keys(p: PacketIn) -> dict[str, Any]:
    """Blind indexes of the names and MBI (no readable name kept for search): adapters/search_keys.py."""
    return packet_search_keys(p.beneficiary, p.practitioner.npi)


def packet_columns(p: PacketIn) -> dict[str, Any]:
    data = p.model_dump(mode="json")
    return {
        "external_ref": p.external_ref,
        "submission_type": p.submission_type,
        "previous_utn": p.previous_utn,
        "review_type": p.review_type,
        "expedited_reason": p.expedited_reason,
        "state_of_service": p.state,
        "place_of_service": p.place_of_service,
        "type_of_bill": p.type_of_bill,
        "beneficiary": data["beneficiary"],
        "practitioner": data["practitioner"],
        "facility": data["facility"],
        "requester": data["requester"],
        **search_keys(p),
    }


_TRACKING_SQL = (
    "${year}::text"
    " || (SELECT lpad(s::text, greatest(8, length(s::text)), '0') FROM nextval('tracking_number_seq') AS s)"
)


# Names are intake's own tables (its schema is the connection's search_path); values are parameters.
_LOCK = "SELECT * FROM packets WHERE id = $1 FOR UPDATE"
_LOCK_OWNED = "SELECT * FROM packets WHERE id = $1 AND partner_client_id = $2 FOR UPDATE"


class SqlPackets:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, packet_id: uuid.UUID, packet: PacketIn, values: Mapping[str, Any]) -> str:
        # The submit's statements run as prepared statements on asyncpg (rawsql); the tracking number is drawn
        # from the sequence inside the INSERT itself: `WSR-<year>-<sequence, at least 8 digits>`.
        names, args = rawsql.bind(packets, {"id": packet_id, **packet_columns(packet), **values})
        year = len(args) + 1
        sql = (
            f"INSERT INTO packets ({', '.join(names)}, tracking_number) "  # noqa: S608 - the table's own names
            f"VALUES ({', '.join(f'${i}' for i in range(1, year))}, {_TRACKING_SQL.format(year=year)}) "
            "RETURNING tracking_number"
        )
        conn = await rawsql.driver_connection(self.session)
        tracking = await conn.fetchval(sql, *args, f"WSR-{values['received_at']:%Y}-")
        assert tracking is not None
        await self._write_lines(packet_id, packet, replace=False)
        return str(tracking)

    async def get(self, packet_id: uuid.UUID) -> Any:
        return (await self.session.execute(select(packets).where(packets.c.id == packet_id))).first()

    async def lock(self, packet_id: uuid.UUID, owner: str | None = None) -> Any:
        # Every transition locks its packet: a prepared statement on the transaction's own connection (rawsql).
        conn = await rawsql.driver_connection(self.session)
        if owner is None:
            record = await conn.fetchrow(_LOCK, packet_id)
        else:
            record = await conn.fetchrow(_LOCK_OWNED, packet_id, owner)
        return None if record is None else rawsql.decode(packets, record)

    async def update(self, packet_id: uuid.UUID, values: Mapping[str, Any]) -> None:
        await rawsql.update_by_key(await rawsql.driver_connection(self.session), packets, packet_id, values)

    async def rewrite(self, packet_id: uuid.UUID, packet: PacketIn) -> None:
        columns = packet_columns(packet)
        for kept in ("external_ref", "submission_type", "review_type"):
            columns.pop(kept)
        await self.update(packet_id, columns)
        await self._write_lines(packet_id, packet)

    async def _write_lines(self, packet_id: uuid.UUID, p: PacketIn, *, replace: bool = True) -> None:
        if replace:  # a correction rewrites the lines; a new packet has none yet
            await self.session.execute(delete(service_lines).where(service_lines.c.packet_id == packet_id))
            await self.session.execute(delete(diagnoses).where(diagnoses.c.packet_id == packet_id))
        conn = await rawsql.driver_connection(self.session)
        await rawsql.insert_many(
            conn,
            service_lines,
            [
                {
                    "packet_id": packet_id,
                    "line_no": i + 1,
                    "code": s.code,
                    "units": s.units,
                    "modifiers": s.modifiers,
                    "date_of_service": s.date_of_service,
                }
                for i, s in enumerate(p.services)
            ],
        )
        dx = [{"packet_id": packet_id, "position": i + 1, "code": c} for i, c in enumerate(p.diagnosis_codes)]
        await rawsql.insert_many(conn, diagnoses, dx)

    async def lines(self, packet_id: uuid.UUID) -> Sequence[Any]:
        query = select(service_lines).where(service_lines.c.packet_id == packet_id).order_by(service_lines.c.line_no)
        return list((await self.session.execute(query)).all())

    async def diagnoses(self, packet_id: uuid.UUID) -> list[str]:
        query = select(diagnoses.c.code).where(diagnoses.c.packet_id == packet_id).order_by(diagnoses.c.position)
        return list((await self.session.execute(query)).scalars().all())

    async def add_letter(self, packet_id: uuid.UUID, entry: Mapping[str, Any]) -> None:
        """A letter redrafted keeps its id with a new version: the packet lists each letter once, at its latest."""
        row = (
            await self.session.execute(select(packets.c.letters).where(packets.c.id == packet_id).with_for_update())
        ).first()
        if row is None:
            return
        kept = [e for e in row.letters or [] if e.get("letter_id") != entry.get("letter_id")]
        await self.session.execute(
            update(packets).where(packets.c.id == packet_id).values(letters=[*kept, dict(entry)])
        )

    async def stuck_in_received(self, before: datetime, limit: int) -> list[uuid.UUID]:
        query = select(packets.c.id).where(packets.c.state == "received", packets.c.received_at < before).limit(limit)
        return list((await self.session.execute(query)).scalars().all())

    async def in_state(self, state: str) -> Sequence[Any]:
        return list((await self.session.execute(select(packets).where(packets.c.state == state))).all())

    async def lock_overdue(self, at: datetime, states: Sequence[str], limit: int) -> Sequence[Any]:
        query = (
            select(packets.c.id, packets.c.state, packets.c.due_at)
            .where(packets.c.due_at < at, packets.c.sla_breached_at.is_(None), packets.c.state.in_(states))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.execute(query)).all())


class SqlHistory:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_transition(self, values: Mapping[str, Any]) -> None:
        await rawsql.insert(await rawsql.driver_connection(self.session), transitions, values)

    async def add_rejection(self, values: Mapping[str, Any]) -> None:
        await self.session.execute(rejections.insert().values(**values))

    async def last_into(self, packet_id: uuid.UUID, state: str) -> Any:
        query = (
            select(transitions)
            .where(
                transitions.c.packet_id == packet_id,
                transitions.c.to_state == state,
                transitions.c.from_state != transitions.c.to_state,
            )
            .order_by(transitions.c.id.desc())
            .limit(1)
        )
        return (await self.session.execute(query)).first()

    async def add_corrections(self, rows: Sequence[Mapping[str, Any]]) -> None:
        await self.session.execute(corrections.insert(), [dict(r) for r in rows])


class SqlDocuments:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def count(self, packet_id: uuid.UUID) -> int:
        return int(await self.session.scalar(select(func.count()).where(documents.c.packet_id == packet_id)) or 0)

    async def add(self, rows: Sequence[Mapping[str, Any]]) -> None:
        await rawsql.insert_many(await rawsql.driver_connection(self.session), documents, rows)

    async def known_keys(self, keys: Sequence[str]) -> set[str]:
        if not keys:
            return set()
        rows = await self.session.execute(select(documents.c.s3_key).where(documents.c.s3_key.in_(list(keys))))
        return set(rows.scalars())


class SqlIdempotencyKeys:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find(self, client_id: str, key: str) -> tuple[str, uuid.UUID] | None:
        conn = await rawsql.driver_connection(self.session)
        row = await conn.fetchrow(
            "SELECT request_hash, packet_id FROM idempotency_keys WHERE client_id = $1 AND key = $2", client_id, key
        )
        return None if row is None else (row["request_hash"], uuid.UUID(str(row["packet_id"])))

    async def add(self, client_id: str, key: str, request_hash: str, packet_id: uuid.UUID) -> bool:
        # A concurrent request with the same key waits here for the first one's transaction; if that
        # commits, this one writes nothing and its use case answers as the first one did.
        conn = await rawsql.driver_connection(self.session)
        added = await conn.fetchval(
            "INSERT INTO idempotency_keys (client_id, key, request_hash, packet_id) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT DO NOTHING RETURNING key",
            client_id,
            key,
            request_hash,
            packet_id,
        )
        return added is not None


class SqlWebhooks:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, values: Mapping[str, Any]) -> bool:
        # One live webhook per partner and URL (the partial unique index webhooks_live_url).
        inserted = await self.session.execute(
            pg_insert(webhooks)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["client_id", "url"], index_where=webhooks.c.deleted_at.is_(None))
            .returning(webhooks.c.id)
        )
        return inserted.first() is not None

    async def live(self, client_id: str) -> Sequence[Any]:
        query = (
            select(webhooks)
            .where(webhooks.c.client_id == client_id, webhooks.c.deleted_at.is_(None))
            .order_by(webhooks.c.created_at)
        )
        return list((await self.session.execute(query)).all())

    async def get(self, client_id: str, webhook_id: uuid.UUID) -> Any:
        query = select(webhooks).where(
            webhooks.c.id == webhook_id, webhooks.c.client_id == client_id, webhooks.c.deleted_at.is_(None)
        )
        return (await self.session.execute(query)).first()

    async def remove(self, client_id: str, webhook_id: uuid.UUID, at: datetime) -> bool:
        result = await self.session.execute(
            update(webhooks)
            .where(webhooks.c.id == webhook_id, webhooks.c.client_id == client_id, webhooks.c.deleted_at.is_(None))
            .values(deleted_at=at)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


class IntakeUnitOfWork(SqlUnitOfWork):
    """One transaction over intake's tables; its outbox and inbox are intake's own."""

    packets: SqlPackets
    history: SqlHistory
    documents: SqlDocuments
    idempotency: SqlIdempotencyKeys
    webhooks: SqlWebhooks

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(sessions, outbox, inbox)

    def repositories(self, session: AsyncSession) -> None:
        self.packets = SqlPackets(session)
        self.history = SqlHistory(session)
        self.documents = SqlDocuments(session)
        self.idempotency = SqlIdempotencyKeys(session)
        self.webhooks = SqlWebhooks(session)
