"""The audit trail is tamper-evident: `audit-verify` finds an edited row, a deleted row and a removed tail, and
the gateway's own database role cannot rewrite the sealed heads that show the tail."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from wiser_gateway.cli import SERVICE_ROOT
from wiser_gateway.config import Settings
from wiser_gateway.usecases import audit
from wiser_servicekit import audit_chain
from wiser_servicekit.db import make_engine, make_sessionmaker
from wiser_servicekit.logs import setup_logging
from wiser_servicekit.migrate import migrate


def gateway_settings(infra: Any) -> Settings:
    return Settings(
        env="test",
        database_url=infra.sqlalchemy_url("wiser_gateway"),
        database_admin_url=infra.sqlalchemy_url(),
        amqp_url=infra.amqp_url,
    )


class Trail:
    def __init__(self, infra: Any, settings: Settings, sessions: Any) -> None:
        self.infra, self.settings, self.sessions = infra, settings, sessions

    async def write(self, n: int) -> list[int]:
        ids = []
        for i in range(n):
            async with self.sessions() as session, session.begin():
                ids.append(
                    await audit.append(
                        session,
                        user_id=uuid.uuid4(),
                        username=f"user{i}",
                        action="packet.view",
                        resource_type="packet",
                        resource_id=None,
                        packet_id=uuid.uuid4(),
                        ip="10.0.0.1",
                        user_agent="test",
                        outcome="ok",
                        detail={"i": i, "note": "é"},
                    )
                )
        return ids

    async def findings(self, logged: list[audit_chain.Head] | None = None) -> list[audit_chain.Finding]:
        async with self.sessions() as session:
            return await audit.verify(session, logged or [])

    async def tamper(self, *statements: str) -> None:
        """What someone who owns the audit table (or the database) can do: lift the trigger, change rows."""
        conn = await asyncpg.connect(self.infra.dsn())
        try:
            async with conn.transaction():
                await conn.execute("ALTER TABLE gateway.audit DISABLE TRIGGER audit_append_only")
                for statement in statements:
                    await conn.execute(statement)
                await conn.execute("ALTER TABLE gateway.audit ENABLE TRIGGER audit_append_only")
        finally:
            await conn.close()


@pytest.fixture
async def trail(infra: Any) -> AsyncIterator[Trail]:
    """A migrated gateway database of its own: each test tampers with its trail."""
    own = infra.derive("audit" + uuid.uuid4().hex[:6])
    settings = gateway_settings(own)
    await asyncio.to_thread(migrate, settings, SERVICE_ROOT)
    engine = make_engine(settings.database_url, settings.db_schema, 2)
    try:
        yield Trail(own, settings, make_sessionmaker(engine))
    finally:
        await engine.dispose()


async def test_an_untouched_trail_verifies(trail: Trail) -> None:
    await trail.write(5)
    assert await trail.findings() == []


async def test_an_edited_row_is_found(trail: Trail) -> None:
    ids = await trail.write(5)
    await trail.tamper(f"UPDATE gateway.audit SET username = 'someone-else' WHERE id = {ids[2]}")
    findings = await trail.findings()
    assert [(f.kind, f.audit_id) for f in findings] == [("edited", ids[2])], findings


async def test_an_edited_row_whose_hashes_were_recomputed_is_found_by_the_seal(trail: Trail) -> None:
    ids = await trail.write(4)
    # Rewrite row 2 and every hash after it, so the chain itself is consistent again.
    await trail.tamper(f"UPDATE gateway.audit SET action = 'nothing.to.see' WHERE id = {ids[1]}")
    conn = await asyncpg.connect(trail.infra.dsn())
    try:
        rows = await conn.fetch("SELECT * FROM gateway.audit ORDER BY id")
        prev, updates = audit_chain.GENESIS, []
        for row in rows:
            h = audit_chain.link(prev, audit.chained_fields(dict(row)))
            updates.append(f"UPDATE gateway.audit SET prev_hash = '{prev}', row_hash = '{h}' WHERE id = {row['id']}")
            prev = h
    finally:
        await conn.close()
    await trail.tamper(*updates)
    kinds = {(f.kind, f.audit_id) for f in await trail.findings()}
    assert ("rewritten", ids[1]) in kinds and ("rewritten", ids[-1]) in kinds, kinds


async def test_a_deleted_row_is_found(trail: Trail) -> None:
    ids = await trail.write(5)
    await trail.tamper(f"DELETE FROM gateway.audit WHERE id = {ids[2]}")
    findings = await trail.findings()
    assert ("deleted", ids[3]) in [(f.kind, f.audit_id) for f in findings], findings
    assert all(f.kind == "deleted" for f in findings), findings


async def test_a_removed_tail_is_found_from_the_seal_and_from_the_log(trail: Trail) -> None:
    stream = io.StringIO()
    setup_logging("gateway", "INFO", stream)
    try:
        ids = await trail.write(5)
    finally:
        logging.getLogger().handlers = [h for h in logging.getLogger().handlers if not getattr(h, "_wiser", False)]
    await trail.tamper(f"DELETE FROM gateway.audit WHERE id >= {ids[3]}")  # the newest two rows
    findings = await trail.findings()
    assert {(f.kind, f.audit_id) for f in findings} == {("truncated", ids[3]), ("truncated", ids[4])}, findings
    # The log holds the heads too (wherever the seal table is out of reach).
    logged = audit_chain.heads_from_log(stream.getvalue().splitlines(), "gateway")
    assert [h.audit_id for h in logged] == ids
    from_log = audit_chain.verify(
        [audit_chain.Row(r.id, r.prev_hash, r.row_hash, audit.chained_fields(r)) for r in await _rows(trail)],
        logged,
    )
    assert {(f.kind, f.audit_id) for f in from_log} == {("truncated", ids[3]), ("truncated", ids[4])}


async def _rows(trail: Trail) -> list[Any]:
    from sqlalchemy import select

    from wiser_gateway.adapters.tables import audit as audit_table

    async with trail.sessions() as session:
        return list((await session.execute(select(audit_table).order_by(audit_table.c.id))).all())


async def test_the_gateway_role_cannot_rewrite_or_remove_the_sealed_heads(trail: Trail) -> None:
    await trail.write(2)
    conn = await asyncpg.connect(trail.infra.dsn("wiser_gateway"))
    try:
        for statement in (
            "DELETE FROM audit_seal.heads",
            "UPDATE audit_seal.heads SET row_hash = 'x'",
            "TRUNCATE audit_seal.heads",
            "DROP TABLE audit_seal.heads",
            "ALTER TABLE audit_seal.heads DISABLE TRIGGER ALL",
        ):
            with pytest.raises(asyncpg.PostgresError):
                await conn.execute(statement)
        assert await conn.fetchval("SELECT count(*) FROM audit_seal.heads WHERE service = 'gateway'") >= 2
    finally:
        await conn.close()


async def test_audit_verify_on_the_command_line_says_what_is_wrong_and_exits_1(trail: Trail) -> None:
    ids = await trail.write(6)
    env = {
        **os.environ,
        "WISER_ENV": "test",
        "WISER_GATEWAY_DATABASE_URL": trail.settings.database_url,
        "WISER_GATEWAY_DATABASE_ADMIN_URL": trail.settings.database_admin_url,
    }

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "wiser_gateway", "audit-verify"], env=env, capture_output=True, text=True, timeout=60
        )

    clean = await asyncio.to_thread(run)
    assert clean.returncode == 0 and "intact" in clean.stdout, clean.stdout + clean.stderr
    await trail.tamper(
        f"UPDATE gateway.audit SET ip = '203.0.113.9' WHERE id = {ids[1]}",
        f"DELETE FROM gateway.audit WHERE id = {ids[3]}",
        f"DELETE FROM gateway.audit WHERE id = {ids[5]}",
    )
    broken = await asyncio.to_thread(run)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert f"EDITED row {ids[1]}" in broken.stdout
    assert f"DELETED row {ids[4]}" in broken.stdout
    assert f"TRUNCATED row {ids[5]}" in broken.stdout


async def test_rows_written_before_the_chain_are_chained_by_the_migration(infra: Any) -> None:
    from alembic import command

    from wiser_servicekit.db import ensure_role_and_schema
    from wiser_servicekit.migrate import alembic_config

    own = infra.derive("auditmig" + uuid.uuid4().hex[:6])
    settings = gateway_settings(own)
    await ensure_role_and_schema(settings.database_admin_url, settings.database_url, "gateway")
    cfg = alembic_config(SERVICE_ROOT, settings.database_url, "gateway")
    cfg.attributes["settings"] = settings
    await asyncio.to_thread(command.upgrade, cfg, "0001")
    conn = await asyncpg.connect(own.dsn())
    try:
        for i in range(3):
            await conn.execute(
                "INSERT INTO gateway.audit (username, action, ip, detail) VALUES ($1, 'signin', '10.0.0.2', $2)",
                f"old{i}",
                json.dumps({"n": i}),
            )
    finally:
        await conn.close()
    await asyncio.to_thread(command.upgrade, cfg, "head")
    engine = make_engine(settings.database_url, settings.db_schema, 2)
    try:
        trail = Trail(own, settings, make_sessionmaker(engine))
        await trail.write(2)  # new rows follow the migrated chain
        assert await trail.findings() == []
        await trail.tamper("DELETE FROM gateway.audit WHERE username = 'old1'")
        assert [f.kind for f in await trail.findings()] == ["deleted"]
    finally:
        await engine.dispose()
