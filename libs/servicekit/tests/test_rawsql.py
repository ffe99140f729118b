"""Hot statements on asyncpg under the session (rawsql): rows decode as SQLAlchemy would, writes stay in the
unit of work's transaction, and a read needs none."""

from __future__ import annotations

import uuid

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Column, Integer, MetaData, String, Table, text
from sqlalchemy.dialects.postgresql import JSONB

from wiser_servicekit import crypto
from wiser_servicekit.crypto import EncryptedJSON, EncryptedText, FieldCipher
from wiser_servicekit.rawsql import (
    decode,
    driver_connection,
    insert_many,
    insert_returning_key,
    update_by_key,
    upsert,
)
from wiser_servicekit.testing import Infra, scratch_schema


async def test_rows_decode_and_bind_by_the_tables_types_and_writes_roll_back_with_the_session(
    infra: Infra, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The process's cipher is global: monkeypatch puts back whatever another test installed.
    monkeypatch.setattr(crypto, "_cipher", FieldCipher(Fernet.generate_key().decode(), "index-key-" + "x" * 32))
    schema = f"raw{uuid.uuid4().hex[:6]}"
    metadata = MetaData(schema=schema)
    people = Table(
        "people",
        metadata,
        Column("n", Integer, primary_key=True),
        Column("who", EncryptedJSON, nullable=False),
        Column("note", EncryptedText),
        Column("tags", JSONB),
        Column("plain", String(10)),
    )
    async with scratch_schema(infra, metadata) as sessions:
        async with sessions() as session:  # written the ordinary way: encrypted at rest
            row = {"n": 1, "who": {"mbi": "1EG4TE5MK73"}, "note": "called", "tags": ["a"], "plain": "x"}
            await session.execute(people.insert().values(**row))
            await session.commit()
        async with sessions() as session:
            stored = (await session.execute(text("SELECT who::text FROM people"))).scalar_one()
            assert "1EG4TE5MK73" not in stored
            conn = await driver_connection(session, transaction=False)
            record = await conn.fetchrow("SELECT *, 41 + n AS extra FROM people WHERE n = $1", 1)
            got = decode(people, record, extra=record["extra"])
        assert (got.n, got.who, got.note, got.tags, got.plain, got.extra) == (
            1,
            {"mbi": "1EG4TE5MK73"},
            "called",
            ["a"],
            "x",
            42,
        )

        async with sessions() as session:  # the writes, committed with the unit of work
            conn = await driver_connection(session)
            await upsert(conn, people, {"n": 1, "who": {"mbi": "2EG4TE5MK73"}, "plain": "y"})  # the row is there
            await upsert(conn, people, {"n": 2, "who": {"mbi": "3EG4TE5MK73"}, "plain": "z"})  # it is not
            await insert_many(conn, people, [{"n": n, "who": {"n": n}, "tags": {"n": n}} for n in (3, 4)])
            assert await insert_returning_key(conn, people, {"n": 5, "who": {}}) == 5
            await update_by_key(conn, people, 5, {"note": "later", "tags": [1]})
            await session.commit()
        async with sessions() as session:
            conn = await driver_connection(session, transaction=False)
            rows = {r["n"]: decode(people, r) for r in await conn.fetch("SELECT * FROM people")}
            stored = (await session.execute(text("SELECT string_agg(who::text || note, '') FROM people"))).scalar()
        assert "EG4TE5MK73" not in stored and "later" not in stored  # encrypted on the way in too
        assert (rows[1].who, rows[1].note, rows[1].plain) == ({"mbi": "2EG4TE5MK73"}, "called", "y")
        assert (rows[2].who, rows[3].tags, rows[4].who) == ({"mbi": "3EG4TE5MK73"}, {"n": 3}, {"n": 4})
        assert (rows[5].note, rows[5].tags) == ("later", [1])

        async with sessions() as session:  # a raw write inside the unit of work that is not committed
            conn = await driver_connection(session)
            await conn.execute("DELETE FROM people WHERE n = $1", 1)
            await session.rollback()
        async with sessions() as session:
            assert (await session.execute(text("SELECT count(*) FROM people"))).scalar_one() == 5
