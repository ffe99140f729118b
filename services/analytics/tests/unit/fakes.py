"""The read model in memory (the projection's unit of work), for use-case tests in milliseconds."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from wiser_analytics.domain.facts import Fact, Record, daily_delta


class MemoryUnit:
    def __init__(self, model: MemoryModel) -> None:
        self.m = model

    async def record_inbox(self, message_id: uuid.UUID, handler: str) -> bool:
        if (message_id, handler) in self.m.inbox:
            return False
        self.m.inbox.add((message_id, handler))
        return True

    async def lock_packet(self, packet_id: uuid.UUID) -> None:
        return None

    async def add_record(self, record: Record) -> bool:
        if record.record_id in self.m.records:
            return False
        self.m.records[record.record_id] = record
        return True

    async def records_of(self, packet_id: uuid.UUID) -> list[Record]:
        return [r for r in self.m.records.values() if r.packet_id == packet_id]

    async def fact_of(self, packet_id: uuid.UUID) -> Fact | None:
        return self.m.facts.get(packet_id)

    async def save_fact(self, old: Fact | None, new: Fact) -> None:
        self.m.facts[new.packet_id] = new
        for key, (n, met, secs) in daily_delta(old, new).items():
            a, b, c = self.m.daily[key]
            self.m.daily[key] = (a + n, b + met, c + secs)

    # (rebuild's part of the unit is not used by the projection: tests/integration covers it on PostgreSQL)


class MemoryModel:
    def __init__(self) -> None:
        self.inbox: set[tuple[uuid.UUID, str]] = set()
        self.records: dict[uuid.UUID, Record] = {}
        self.facts: dict[uuid.UUID, Fact] = {}
        self.daily: dict[Any, tuple[int, int, float]] = defaultdict(lambda: (0, 0, 0.0))

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[MemoryUnit]:
        yield MemoryUnit(self)
