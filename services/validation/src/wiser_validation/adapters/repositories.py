"""Validation's repositories over its own tables, and the unit of work that holds them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wiser_servicekit import rawsql
from wiser_servicekit.crypto import cipher
from wiser_servicekit.db import SqlUnitOfWork

from ..domain import PacketFacts
from .tables import findings, inbox, outbox, packets_seen, runs


class SqlPacketsSeen:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def remember(self, facts: PacketFacts, received_at: datetime, service_ids: Sequence[str]) -> None:
        values = {
            "practitioner_npi": facts.practitioner.npi,
            "mbi_index": cipher().blind_index(facts.beneficiary.mbi),
            "service_ids": list(service_ids),
            "received_at": received_at,
            "identity": {
                "first_name": facts.beneficiary.first_name,
                "last_name": facts.beneficiary.last_name,
                "date_of_birth": facts.beneficiary.date_of_birth.isoformat(),
            },
        }
        # remember, hold_pair, exists and add run for every packet: prepared statements on asyncpg (rawsql).
        conn = await rawsql.driver_connection(self.session)
        await rawsql.upsert(conn, packets_seen, {"packet_id": uuid.UUID(str(facts.packet_id)), **values})

    async def hold_pair(self, practitioner_npi: str, mbi: str) -> None:
        conn = await rawsql.driver_connection(self.session)
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext($1::text))", f"{practitioner_npi}|{cipher().blind_index(mbi)}"
        )

    async def open_before(self, facts: PacketFacts, received_at: datetime) -> Sequence[Any]:
        pid = uuid.UUID(str(facts.packet_id))
        query = select(packets_seen).where(
            packets_seen.c.practitioner_npi == facts.practitioner.npi,
            packets_seen.c.mbi_index == cipher().blind_index(facts.beneficiary.mbi),
            packets_seen.c.open.is_(True),
            packets_seen.c.packet_id != pid,
            or_(
                packets_seen.c.received_at < received_at,
                and_(packets_seen.c.received_at == received_at, packets_seen.c.packet_id < pid),
            ),
        )
        return list((await self.session.execute(query)).all())

    async def with_utn(self, utn: str) -> Sequence[Any]:
        return list((await self.session.execute(select(packets_seen).where(packets_seen.c.utn == utn))).all())

    async def close(self, packet_id: uuid.UUID) -> None:
        await self.session.execute(update(packets_seen).where(packets_seen.c.packet_id == packet_id).values(open=False))

    async def set_utn(self, packet_id: uuid.UUID, utn: str) -> None:
        await self.session.execute(update(packets_seen).where(packets_seen.c.packet_id == packet_id).values(utn=utn))


class SqlRuns:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def exists(self, packet_id: uuid.UUID, run: int) -> bool:
        conn = await rawsql.driver_connection(self.session)
        sql = "SELECT EXISTS (SELECT 1 FROM runs WHERE packet_id = $1 AND run = $2)"
        return bool(await conn.fetchval(sql, packet_id, run))

    async def add(self, values: Mapping[str, Any], found: Sequence[Mapping[str, Any]]) -> None:
        conn = await rawsql.driver_connection(self.session)
        run_id = await rawsql.insert_returning_key(conn, runs, values)
        await rawsql.insert_many(conn, findings, [{"run_id": run_id, **f} for f in found])


class ValidationUnitOfWork(SqlUnitOfWork):
    seen: SqlPacketsSeen
    runs: SqlRuns

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(sessions, outbox, inbox)

    def repositories(self, session: AsyncSession) -> None:
        self.seen = SqlPacketsSeen(session)
        self.runs = SqlRuns(session)
