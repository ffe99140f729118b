"""The SQL unit of work every service's adapters subclass: one transaction, outbox and inbox inside it."""

from __future__ import annotations

import uuid

from sqlalchemy import Column, Integer, MetaData, Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from wiser_contracts import messages as m
from wiser_servicekit.db import SqlUnitOfWork
from wiser_servicekit.outbox import outbox_tables
from wiser_servicekit.testing import Infra, scratch_schema


async def test_effects_outbox_and_inbox_commit_together_or_not_at_all(infra: Infra) -> None:
    schema = f"uow{uuid.uuid4().hex[:6]}"
    metadata = MetaData(schema=schema)
    outbox, inbox = outbox_tables(metadata)
    counters = Table("counters", metadata, Column("n", Integer, primary_key=True))

    class Counters:
        def __init__(self, session: AsyncSession) -> None:
            self.session = session

        async def add(self, n: int) -> None:
            await self.session.execute(counters.insert().values(n=n))

    class CounterUow(SqlUnitOfWork):
        counters: Counters

        def repositories(self, session: AsyncSession) -> None:
            self.counters = Counters(session)

    async with scratch_schema(infra, metadata) as sessions:

        def uow() -> CounterUow:
            return CounterUow(sessions, outbox, inbox)

        pid = uuid.uuid4()
        trigger = m.PacketValidated(packet_id=pid, producer="validation", run=1, outcome="passed")
        said = m.PacketSlaBreached(packet_id=pid, producer="intake", state="validating", due_at="2026-06-01T00:00:00Z")

        async with uow() as u:  # not committed: nothing stays, the inbox included
            assert await u.record_inbox("svc.on_validated", trigger)
            await u.counters.add(1)
            await u.emit(said)
        async with uow() as u:
            assert await u.record_inbox("svc.on_validated", trigger)  # so the redelivery is handled again
            await u.counters.add(1)
            await u.emit(said)
            await u.commit()
        async with uow() as u:
            assert not await u.record_inbox("svc.on_validated", trigger)  # once per handler
            assert await u.record_inbox("svc.on_other", trigger)
            await u.rollback()

        async with sessions() as session:
            assert list((await session.execute(select(counters.c.n))).scalars()) == [1]
            rows = (await session.execute(select(outbox.c.message_id, outbox.c.type, outbox.c.packet_id))).all()
            assert [(r.message_id, r.type, r.packet_id) for r in rows] == [(said.message_id, said.type, pid)]
            assert len((await session.execute(select(inbox))).all()) == 1
