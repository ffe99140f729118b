"""A tamper-evident audit trail: a hash chain over the rows, and heads sealed where the writer cannot rewrite them.

Each audit row stores `prev_hash` (the previous row's `row_hash`, or `GENESIS`) and `row_hash` =
SHA-256(prev_hash + canonical JSON of the row's fields). Editing a row breaks its own hash; deleting one
breaks the next row's link. Removing the newest rows leaves a valid chain, so every append also records
the new head (row id and hash) in `audit_seal.heads`: a table owned by another database role, on which
the service's role has INSERT and SELECT only (no UPDATE, DELETE or TRUNCATE), and in the service's log.
A head whose row is gone, or whose row now hashes differently, shows the tail was removed or rewritten.

`verify` is pure: it takes the rows and the sealed heads and says what is wrong. `append` and `check` do
the same for any service's audit table (an `id` bigserial, `prev_hash` and `row_hash` beside its own
columns); `ensure_seal` is the admin's part of a migration.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, MetaData, String, Table, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

GENESIS = "0" * 64
SEAL_SCHEMA = "audit_seal"
SEAL_ROLE = "wiser_audit_seal"  # owns the seal; no login, nobody runs as it
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")

seal_metadata = MetaData(schema=SEAL_SCHEMA)
heads = Table(
    "heads",
    seal_metadata,
    Column("service", String(40), primary_key=True),
    Column("audit_id", BigInteger, primary_key=True),
    Column("row_hash", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)  # UUIDs, IP addresses, ...


def canonical(fields: Mapping[str, Any]) -> bytes:
    return json.dumps(_plain(fields), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link(prev_hash: str, fields: Mapping[str, Any]) -> str:
    """The hash of a row that follows `prev_hash` and holds `fields` (its id included)."""
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(fields)).hexdigest()


@dataclass(frozen=True)
class Row:
    id: int
    prev_hash: str | None
    row_hash: str | None
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class Head:
    audit_id: int
    row_hash: str
    source: str = "seal"  # "seal" (the other role's table) or "log"


@dataclass(frozen=True)
class Finding:
    kind: str  # "edited", "deleted", "truncated", "rewritten"
    audit_id: int | None
    detail: str

    def __str__(self) -> str:
        where = f"row {self.audit_id}" if self.audit_id is not None else "trail"
        return f"{self.kind.upper()} {where}: {self.detail}"


def verify(rows: Iterable[Row], sealed: Iterable[Head]) -> list[Finding]:
    """What is wrong with the trail: rows whose content no longer matches their hash (edited), links that
    do not follow (rows deleted in between), and sealed heads the trail no longer reaches (a removed tail)
    or no longer matches (a rewritten row)."""
    findings: list[Finding] = []
    by_id: dict[int, Row] = {}
    prev: Row | None = None
    for row in sorted(rows, key=lambda r: r.id):
        by_id[row.id] = row
        if row.row_hash is None or row.prev_hash is None:
            findings.append(Finding("edited", row.id, "the row has no hash"))
        elif link(row.prev_hash, row.fields) != row.row_hash:
            findings.append(Finding("edited", row.id, "its content does not match its hash"))
        expected_prev = prev.row_hash if prev is not None else GENESIS
        if row.prev_hash != expected_prev:
            if prev is None:
                detail = "the first row does not start the chain: rows before it were deleted"
            else:
                detail = f"it does not follow row {prev.id}: rows between them were deleted (or {prev.id} rewritten)"
            findings.append(Finding("deleted", row.id, detail))
        prev = row
    last_id = prev.id if prev is not None else 0
    for head in sorted(set(sealed), key=lambda h: (h.audit_id, h.source)):
        held = by_id.get(head.audit_id)
        if held is None and head.audit_id > last_id:
            findings.append(
                Finding(
                    "truncated",
                    head.audit_id,
                    f"the {head.source} recorded row {head.audit_id} as a head, but the trail ends at row {last_id}",
                )
            )
        elif held is None:
            findings.append(Finding("deleted", head.audit_id, f"the {head.source} recorded this row; it is gone"))
        elif held.row_hash != head.row_hash:
            findings.append(
                Finding("rewritten", head.audit_id, f"its hash differs from the one the {head.source} recorded")
            )
    return findings


def heads_from_log(lines: Iterable[str], service: str) -> list[Head]:
    """The heads a service logged (`audit sealed` records of its JSON log)."""
    found: list[Head] = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if (
            isinstance(record, dict)
            and record.get("msg") == "audit sealed"
            and record.get("service") == service
            and "audit_id" in record
        ):
            found.append(Head(int(record["audit_id"]), str(record["audit_hash"]), "log"))
    return found


async def ensure_seal(admin_url: str, writer_url: str) -> None:
    """Create the seal (role, schema, heads table) as the database admin, and let the writer's role insert
    and read heads, nothing more. Idempotent; several services share the one table (keyed by service)."""
    writer = make_url(writer_url).username or ""
    if not _IDENT.match(writer):
        raise ValueError(f"bad role name {writer!r}")
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            # Concurrent migrations (other databases on the same server) may race to create the role.
            await conn.execute(
                text(
                    f"DO $$ BEGIN CREATE ROLE {SEAL_ROLE} NOLOGIN; "
                    "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
                )
            )
            await conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SEAL_SCHEMA} AUTHORIZATION {SEAL_ROLE}"))
            await conn.execute(
                text(
                    f"CREATE TABLE IF NOT EXISTS {SEAL_SCHEMA}.heads ("
                    " service varchar(40) NOT NULL, audit_id bigint NOT NULL, row_hash varchar(64) NOT NULL,"
                    " at timestamptz NOT NULL, PRIMARY KEY (service, audit_id))"
                )
            )
            await conn.execute(text(f"ALTER TABLE {SEAL_SCHEMA}.heads OWNER TO {SEAL_ROLE}"))
            await conn.execute(text(f"REVOKE ALL ON {SEAL_SCHEMA}.heads FROM PUBLIC, {writer}"))
            await conn.execute(text(f"GRANT USAGE ON SCHEMA {SEAL_SCHEMA} TO {writer}"))
            await conn.execute(text(f"GRANT SELECT, INSERT ON {SEAL_SCHEMA}.heads TO {writer}"))
    finally:
        await engine.dispose()


def _lock_key(service: str) -> int:
    return int.from_bytes(hashlib.sha256(f"audit-chain:{service}".encode()).digest()[:4], "big", signed=True)


async def append(
    session: AsyncSession, table: Table, service: str, values: Mapping[str, Any], chained: Iterable[str]
) -> tuple[int, str]:
    """Append one row to `table`'s chain in the caller's transaction and seal the new head.

    One writer extends a service's chain at a time (a transaction-scoped advisory lock), so ids follow commit
    order. `values` must hold every column named in `chained` but `id`; `at` is set here when it is chained
    and missing. Returns the new row's id and hash (log them: the log is the second copy of the head)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(service)})
    prev = await session.scalar(select(table.c.row_hash).order_by(table.c.id.desc()).limit(1))
    row_id = int(
        await session.scalar(text("SELECT nextval(pg_get_serial_sequence(:t, 'id'))"), {"t": table.fullname}) or 0
    )
    row: dict[str, Any] = {**values, "id": row_id}
    names = tuple(chained)
    if "at" in names and row.get("at") is None:
        row["at"] = datetime.now(UTC)
    prev_hash = prev or GENESIS
    row_hash = link(prev_hash, {k: row.get(k) for k in names})
    await session.execute(table.insert().values(**row, prev_hash=prev_hash, row_hash=row_hash))
    await session.execute(
        heads.insert().values(
            service=service, audit_id=row_id, row_hash=row_hash, at=row.get("at") or datetime.now(UTC)
        )
    )
    return row_id, row_hash


async def check(
    session: AsyncSession, table: Table, service: str, chained: Iterable[str], logged: Iterable[Head] = ()
) -> list[Finding]:
    """`verify` over `table` as stored and the service's sealed heads (and heads taken from its log)."""
    names = tuple(chained)
    rows = [
        Row(r.id, r.prev_hash, r.row_hash, {k: getattr(r, k) for k in names})
        for r in (await session.execute(select(table).order_by(table.c.id))).all()
    ]
    sealed = [
        Head(int(h.audit_id), h.row_hash)
        for h in (
            await session.execute(select(heads.c.audit_id, heads.c.row_hash).where(heads.c.service == service))
        ).all()
    ]
    return verify(rows, [*sealed, *logged])


def ensure_seal_blocking(admin_url: str, writer_url: str) -> None:
    """`ensure_seal` from synchronous code that may already run inside an event loop (an Alembic migration):
    on a thread of its own."""
    import asyncio
    import threading

    errors: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(ensure_seal(admin_url, writer_url))
        except BaseException as e:  # re-raised below, on the caller's thread
            errors.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def chain_existing(bind: Any, table: str, service: str, chained: Iterable[str]) -> None:
    """In a migration that adds `prev_hash` and `row_hash` to an audit table (`schema.table`): chain the rows
    already there, oldest first, and seal the head. The caller lifts any append-only trigger around it."""
    names = tuple(chained)
    prev, head = GENESIS, None
    for row in bind.execute(text(f"SELECT * FROM {table} ORDER BY id")).mappings().all():  # noqa: S608
        row_hash = link(prev, {k: row[k] for k in names})
        bind.execute(
            text(f"UPDATE {table} SET prev_hash = :p, row_hash = :h WHERE id = :id"),  # noqa: S608
            {"p": prev, "h": row_hash, "id": row["id"]},
        )
        prev, head = row_hash, (row["id"], row_hash)
    if head is not None:
        bind.execute(
            text(
                "INSERT INTO audit_seal.heads (service, audit_id, row_hash, at) VALUES (:s, :i, :h, now())"
                " ON CONFLICT DO NOTHING"
            ),
            {"s": service, "i": head[0], "h": head[1]},
        )
