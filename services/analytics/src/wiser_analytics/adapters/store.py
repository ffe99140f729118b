# ruff: noqa: S608 - the SQL here is built from constants (table and column names), never from input
"""The read model over analytics' tables (SQLAlchemy): the use cases' unit of work."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wiser_servicekit.outbox import record_in_inbox
from wiser_servicekit.rawsql import driver_connection

from ..domain.facts import FROM_HISTORY, Fact, Record, daily_delta
from .tables import SCHEMA, daily, fact_lines, facts, inbox, rebuilds, records

FACT_FIELDS = [f.name for f in fields(Fact)]
CHUNK = 2000


def fact_from_row(row: Any) -> Fact:
    m = row._mapping
    values = {k: m[k] for k in FACT_FIELDS}
    values["service_codes"] = list(values["service_codes"] or [])
    values["dismissal_codes"] = list(values["dismissal_codes"] or [])
    return Fact(**values)


def _record(row: Any) -> Record:
    return Record(row.record_id, row.packet_id, row.kind, row.version, row.at, row.data)


def _record_values(r: Record) -> dict[str, Any]:
    return {
        "record_id": r.record_id,
        "packet_id": r.packet_id,
        "kind": r.kind,
        "version": r.version,
        "at": r.at,
        "data": dict(r.data),
    }


FACT_JSON = ("lines", "state_first_at", "state_seconds")
_S = SCHEMA  # every statement below is built from constants only (no input): S608 does not apply
_FACT_COLS = ", ".join(FACT_FIELDS)
_FACT_READ = ", ".join(f"{c}::text AS {c}" if c in FACT_JSON else c for c in FACT_FIELDS)
_FACT_ARGS = ", ".join(f"${i + 1}::jsonb" if c in FACT_JSON else f"${i + 1}" for i, c in enumerate(FACT_FIELDS))
UPSERT_FACT = (
    f"INSERT INTO {_S}.facts ({_FACT_COLS}) VALUES ({_FACT_ARGS}) ON CONFLICT (packet_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in FACT_FIELDS if c != "packet_id")
)
SELECT_FACT = f"SELECT {_FACT_READ} FROM {_S}.facts WHERE packet_id = $1"
INSERT_RECORD = (
    f"INSERT INTO {_S}.records (record_id, packet_id, kind, version, at, data) VALUES ($1, $2, $3, $4, $5, $6::jsonb) "
    "ON CONFLICT (record_id) DO NOTHING RETURNING record_id"
)
SELECT_RECORDS = (
    f"SELECT record_id, packet_id, kind, version, at, data::text AS data FROM {_S}.records WHERE packet_id = $1"
)
DELETE_LINES = f"DELETE FROM {_S}.fact_lines WHERE packet_id = $1"
INSERT_LINE = (
    f"INSERT INTO {_S}.fact_lines (packet_id, line_no, code, outcome, state_of_service, review_type, decided_day) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7)"
)
UPSERT_DAILY = (
    f"INSERT INTO {_S}.daily AS d (day, kind, state_of_service, review_type, channel, outcome, count, met, "
    "turnaround_seconds) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
    "ON CONFLICT (day, kind, state_of_service, review_type, channel, outcome) DO UPDATE SET "
    "count = d.count + EXCLUDED.count, met = d.met + EXCLUDED.met, "
    "turnaround_seconds = d.turnaround_seconds + EXCLUDED.turnaround_seconds"
)


def _fact_args(fact: Fact) -> list[Any]:
    row = fact.row()
    return [json.dumps(row[c]) if c in FACT_JSON else row[c] for c in FACT_FIELDS]


class SqlUnit:
    """The projection's hot path runs on the transaction's own asyncpg connection with prepared statements
    (one message is a handful of statements); the rebuild uses SQLAlchemy Core in bulk."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._raw: Any = None

    async def _conn(self) -> Any:
        if self._raw is None:
            self._raw = await driver_connection(self.session)
        return self._raw

    async def record_inbox(self, message_id: uuid.UUID, handler: str) -> bool:
        return await record_in_inbox(self.session, inbox, message_id, handler)

    async def lock_packet(self, packet_id: uuid.UUID) -> None:
        # One packet's fold at a time (its partition already serialises; this also holds against a rebuild,
        # whose EXCLUSIVE lock on the record log waits for this transaction and makes the next one wait).
        await (await self._conn()).execute("SELECT pg_advisory_xact_lock(hashtext($1))", str(packet_id))

    async def add_record(self, record: Record) -> bool:
        v = _record_values(record)
        found = await (await self._conn()).fetchval(
            INSERT_RECORD, v["record_id"], v["packet_id"], v["kind"], v["version"], v["at"], json.dumps(v["data"])
        )
        return found is not None

    async def records_of(self, packet_id: uuid.UUID) -> list[Record]:
        rows = await (await self._conn()).fetch(SELECT_RECORDS, packet_id)
        return [
            Record(r["record_id"], r["packet_id"], r["kind"], r["version"], r["at"], json.loads(r["data"]))
            for r in rows
        ]

    async def fact_of(self, packet_id: uuid.UUID) -> Fact | None:
        row = await (await self._conn()).fetchrow(SELECT_FACT, packet_id)
        if row is None:
            return None
        values = {k: (json.loads(row[k]) if k in FACT_JSON else row[k]) for k in FACT_FIELDS}
        values["service_codes"] = list(values["service_codes"] or [])
        values["dismissal_codes"] = list(values["dismissal_codes"] or [])
        return Fact(**values)

    async def save_fact(self, old: Fact | None, new: Fact) -> None:
        if old == new:
            return
        conn = await self._conn()
        await conn.execute(UPSERT_FACT, *_fact_args(new))
        lines = new.line_rows()
        if old is None or old.line_rows() != lines:
            await conn.execute(DELETE_LINES, new.packet_id)
            if lines:
                await conn.executemany(
                    INSERT_LINE,
                    [
                        (
                            ln["packet_id"],
                            ln["line_no"],
                            ln["code"],
                            ln["outcome"],
                            ln["state_of_service"],
                            ln["review_type"],
                            ln["decided_day"],
                        )
                        for ln in lines
                    ],
                )
        delta = daily_delta(old, new)
        if delta:
            # One order everywhere: concurrent folds never deadlock on the daily rows. A bucket a packet left
            # may now hold zeros: it stays (every query sums; a rebuild simply writes none).
            await conn.executemany(UPSERT_DAILY, [(*k, *delta[k]) for k in sorted(delta)])

    # ------------------------------------------------------------------------------- rebuild

    async def lock_all(self) -> None:
        await self.session.execute(text("LOCK TABLE records, facts, fact_lines, daily IN EXCLUSIVE MODE"))

    async def clear_history_records(self) -> None:
        await self.session.execute(delete(records).where(records.c.kind.in_(FROM_HISTORY)))

    async def add_records(self, new: Iterable[Record]) -> None:
        values = [_record_values(r) for r in new]
        for i in range(0, len(values), CHUNK):
            await self.session.execute(
                pg_insert(records).on_conflict_do_nothing(index_elements=[records.c.record_id]), values[i : i + CHUNK]
            )

    async def clear_facts(self) -> None:
        for table in (fact_lines, facts, daily):
            await self.session.execute(delete(table))

    async def records_by_packet(self, batch: int) -> AsyncIterator[dict[uuid.UUID, list[Record]]]:
        """Every packet's records, `batch` packets at a time (keyset on the packet id: bounded memory)."""
        after = uuid.UUID(int=0)
        while True:
            ids = select(records.c.packet_id).where(records.c.packet_id > after).distinct()
            chosen = ids.order_by(records.c.packet_id).limit(batch).subquery()
            rows = await self.session.execute(select(records).join(chosen, chosen.c.packet_id == records.c.packet_id))
            grouped: dict[uuid.UUID, list[Record]] = defaultdict(list)
            for r in rows:
                grouped[r.packet_id].append(_record(r))
            if not grouped:
                return
            yield dict(grouped)
            after = max(grouped)

    async def add_facts(self, new: list[Fact]) -> None:
        """Fact rows, their lines, and their share of the daily table (added to what earlier batches wrote)."""
        rows = [f.row() for f in new]
        for i in range(0, len(rows), CHUNK):
            await self.session.execute(insert(facts), rows[i : i + CHUNK])
        lines = [ln for f in new for ln in f.line_rows()]
        for i in range(0, len(lines), CHUNK):
            await self.session.execute(insert(fact_lines), lines[i : i + CHUNK])
        totals: dict[Any, tuple[int, int, float]] = {}
        for f in new:
            for key, (n, met, secs) in daily_delta(None, f).items():
                a, b, c = totals.get(key, (0, 0, 0.0))
                totals[key] = (a + n, b + met, c + secs)
        if totals:
            await (await self._conn()).executemany(UPSERT_DAILY, [(*k, *totals[k]) for k in sorted(totals)])

    async def note_rebuild(self, requested_by: str, history_rows: int, packets: int) -> None:
        now = datetime.now(UTC)
        await self.session.execute(
            insert(rebuilds).values(
                started_at=now, finished_at=now, history_rows=history_rows, packets=packets, requested_by=requested_by
            )
        )


class SqlReadModel:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[SqlUnit]:
        async with self.sessions() as session, session.begin():
            yield SqlUnit(session)
