"""Letters' read audit is tamper-evident like the gateway's: an edited row, a deleted row and a removed tail show."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg

from wiser_letters.adapters.repository import SqlUnitOfWork
from wiser_letters.cli import SERVICE_ROOT, verify_read_audit
from wiser_letters.config import Settings
from wiser_letters.usecases.ports import ViewRecord
from wiser_servicekit.db import make_engine, make_sessionmaker
from wiser_servicekit.migrate import migrate


async def test_the_read_audit_shows_edits_deletions_and_a_removed_tail(infra) -> None:
    own = infra.derive("lettersaudit" + uuid.uuid4().hex[:6])
    settings = Settings(
        env="test", database_url=own.sqlalchemy_url("wiser_letters"), database_admin_url=own.sqlalchemy_url()
    )
    await asyncio.to_thread(migrate, settings, SERVICE_ROOT)
    engine = make_engine(settings.database_url, settings.db_schema, 2)
    sessions = make_sessionmaker(engine)
    try:
        for i in range(6):
            async with SqlUnitOfWork(sessions) as u:
                await u.repo.add_view(
                    ViewRecord(what="pdf", viewer=f"user-{i}", roles="supervisor", outcome="ok", at=datetime.now(UTC))
                )
                await u.commit()
    finally:
        await engine.dispose()
    assert await verify_read_audit(settings) == []
    conn = await asyncpg.connect(own.dsn())
    try:
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM letters.views ORDER BY id")]
        await conn.execute(f"UPDATE letters.views SET viewer = 'nobody' WHERE id = {ids[1]}")
        await conn.execute(f"DELETE FROM letters.views WHERE id = {ids[3]}")
        await conn.execute(f"DELETE FROM letters.views WHERE id = {ids[5]}")
        async with asyncpg.create_pool(own.dsn("wiser_letters"), min_size=1, max_size=1) as pool:
            async with pool.acquire() as writer:
                try:
                    await writer.execute("DELETE FROM audit_seal.heads")
                    raise AssertionError("letters' role removed sealed heads")
                except asyncpg.PostgresError:
                    pass
    finally:
        await conn.close()
    findings = await verify_read_audit(settings)
    assert any(f.startswith(f"EDITED row {ids[1]}") for f in findings), findings
    assert any(f.startswith(f"DELETED row {ids[4]}") for f in findings), findings
    assert any(f.startswith(f"TRUNCATED row {ids[5]}") for f in findings), findings
