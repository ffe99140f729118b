"""Hot statements straight on asyncpg, under the session's own connection and transaction.

SQLAlchemy builds, caches-by-key and compiles every statement, then runs it through its session and result
machinery: for the statements every packet runs (the bus's outbox and inbox rows and the relay's, intake's
submit, facts read and transitions, and each consumer's own few) that was about a third of every service's CPU.
Here they run as asyncpg prepared statements (asyncpg caches them per connection). Rows are decoded and values
bound by the table's own column types, so encrypted columns are encrypted and decrypted exactly as SQLAlchemy
would (`crypto.EncryptedJSON`) and each column has one definition. Everything else stays on SQLAlchemy.

Only statements written in code go through here, with every value a parameter ($1, $2, ...); `insert`,
`upsert` and `update_by_key` build theirs from a table's own column names, never from input. With a
transaction-pooling proxy in front of PostgreSQL (none is deployed here), prepared statements need its support.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import JSON, JSONB, UUID
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeDecorator

_DIALECT = PGDialect_asyncpg()


async def driver_connection(session: AsyncSession, *, transaction: bool = True) -> Any:
    """The asyncpg connection under `session`. With `transaction` (the default), the session's transaction is
    open first, so what is sent here commits or rolls back with the rest of the unit of work; a read of one
    statement needs none (`transaction=False`: it is its own snapshot)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    adapted: Any = raw.dbapi_connection
    # SQLAlchemy's asyncpg adapter opens its transaction lazily, at its own first statement: open it now, or a
    # statement sent straight to asyncpg would run outside it (in autocommit) and survive a rollback.
    if transaction and not getattr(adapted, "_started", True):
        await adapted._start_transaction()
    return raw.driver_connection


def decode(table: Table, record: Mapping[str, Any], **extra: Any) -> SimpleNamespace:
    """A row of `table` from an asyncpg record, with attribute access like SQLAlchemy's: each column through
    its type's result processing (decryption for the encrypted types); JSON columns parsed (SQLAlchemy's
    asyncpg dialect gives json and jsonb a text codec). `extra` adds computed columns as they are."""
    values: dict[str, Any] = {}
    for column in table.columns:
        value = record[column.name]
        kind = column.type
        if value is not None:
            if isinstance(kind, TypeDecorator):
                value = kind.process_result_value(value, _DIALECT)
            elif isinstance(kind, JSON | JSONB) and isinstance(value, str):
                value = json.loads(value)
            elif isinstance(kind, UUID) and kind.as_uuid and not isinstance(value, uuid.UUID):
                value = uuid.UUID(str(value))  # asyncpg's own UUID type, as SQLAlchemy would hand it over
        values[column.name] = value
    values.update(extra)
    return SimpleNamespace(**values)


def _bind(column: Any, value: Any) -> Any:
    """A value as the column's type would bind it: encrypted by the encrypted types, JSON as text (the text
    codec SQLAlchemy's asyncpg dialect gives json and jsonb)."""
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, TypeDecorator):
        return kind.process_bind_param(value, _DIALECT)
    if isinstance(kind, JSON | JSONB):
        return json.dumps(value)
    return value


def bind(table: Table, values: Mapping[str, Any]) -> tuple[list[str], list[Any]]:
    """Quoted column names and bound values (in that order) for a statement written by hand."""
    return [f'"{table.c[n].name}"' for n in values], [_bind(table.c[n], v) for n, v in values.items()]


_STATEMENTS: dict[tuple[str, str, tuple[str, ...]], str] = {}


def table_name(table: Table) -> str:
    """`table`'s quoted name, schema-qualified when it has one."""
    return f'"{table.schema}"."{table.name}"' if table.schema else f'"{table.name}"'


def _statement(kind: str, table: Table, names: tuple[str, ...]) -> str:
    """INSERT or UPDATE-by-key text for these columns of `table`, built once per shape. Column names come from
    the table's own definition (an unknown name is a KeyError), never from input."""
    key = (kind, table_name(table), names)
    if key not in _STATEMENTS:
        cols = [table.c[n].name for n in names]
        if kind.startswith(("insert", "upsert")):
            params = ", ".join(f"${i}" for i in range(1, len(cols) + 1))
            quoted = ", ".join(f'"{c}"' for c in cols)
            sql = f"INSERT INTO {key[1]} ({quoted}) VALUES ({params})"  # noqa: S608
            pk = ",".join(f'"{c.name}"' for c in table.primary_key.columns)
            if kind == "insert-or-skip":
                sql += " ON CONFLICT DO NOTHING"
            elif kind == "upsert":
                keys = {c.name for c in table.primary_key.columns}
                sets = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in cols if c not in keys)
                sql += f" ON CONFLICT ({pk}) DO UPDATE SET {sets}"
            elif kind == "insert-returning":
                sql += f" RETURNING {pk}"
            _STATEMENTS[key] = sql
        else:
            (pk,) = [c.name for c in table.primary_key.columns]
            sets = ", ".join(f'"{c}" = ${i}' for i, c in enumerate(cols, start=2))
            _STATEMENTS[key] = f'UPDATE {key[1]} SET {sets} WHERE "{pk}" = $1'  # noqa: S608
    return _STATEMENTS[key]


async def insert(conn: Any, table: Table, values: Mapping[str, Any], *, skip_conflict: bool = False) -> None:
    """Insert one row (plain values only, no SQL expressions) on `conn` (`driver_connection`); with
    `skip_conflict`, a row that would violate a unique constraint is skipped (ON CONFLICT DO NOTHING)."""
    names = tuple(values)
    kind = "insert-or-skip" if skip_conflict else "insert"
    await conn.execute(_statement(kind, table, names), *(_bind(table.c[n], values[n]) for n in names))


async def insert_returning_key(conn: Any, table: Table, values: Mapping[str, Any]) -> Any:
    """Insert one row and return its (single-column, e.g. generated) primary key."""
    names = tuple(values)
    return await conn.fetchval(
        _statement("insert-returning", table, names), *(_bind(table.c[n], values[n]) for n in names)
    )


async def insert_many(conn: Any, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows that all set the same columns, in one round trip (executemany)."""
    if not rows:
        return
    names = tuple(rows[0])
    await conn.executemany(
        _statement("insert", table, names), [tuple(_bind(table.c[n], r[n]) for n in names) for r in rows]
    )


async def upsert(conn: Any, table: Table, values: Mapping[str, Any]) -> None:
    """Insert one row, or set these values on the row with its primary key (which `values` must hold)."""
    names = tuple(values)
    await conn.execute(_statement("upsert", table, names), *(_bind(table.c[n], values[n]) for n in names))


async def update_by_key(conn: Any, table: Table, key: Any, values: Mapping[str, Any]) -> None:
    """Set plain values on the row whose (single-column) primary key is `key`."""
    names = tuple(values)
    await conn.execute(_statement("update", table, names), key, *(_bind(table.c[n], values[n]) for n in names))
