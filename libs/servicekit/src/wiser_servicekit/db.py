"""Async engine, unit of work, and the service's own role and schema."""

from __future__ import annotations

import re
from collections.abc import Callable
from types import TracebackType
from typing import Self

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def make_engine(url: str, schema: str, pool_size: int = 10) -> AsyncEngine:
    """Engine whose connections see only the service's schema by default."""
    return create_async_engine(
        url,
        pool_size=pool_size,
        # Overflow connections are closed after each use, and a new PostgreSQL backend costs milliseconds of
        # CPU: keep most of the budget in the pool.
        max_overflow=max(2, pool_size // 4),
        pool_recycle=1800,  # no pre-ping: it costs a round trip on every checkout
        connect_args={"server_settings": {"search_path": schema, "application_name": schema}},
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


class UnitOfWork:
    """`async with uow:` around one session; rolls back unless committed."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self.session: AsyncSession

    async def __aenter__(self) -> Self:
        self.session = self._sessions()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self.session.rollback()
        finally:
            await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()


UowFactory = Callable[[], UnitOfWork]


async def ensure_role_and_schema(admin_url: str, runtime_url: str, schema: str) -> None:
    """Create the service's login role and schema; grant the role its own schema only."""
    if not _IDENT.match(schema):
        raise ValueError(f"bad schema name {schema!r}")
    runtime = make_url(runtime_url)
    role = runtime.username or "postgres"
    if not _IDENT.match(role):
        raise ValueError(f"bad role name {role!r}")
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            exists = await conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
            if not exists:
                await conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
            if runtime.password:
                password = str(runtime.password).replace("'", "''")
                await conn.execute(text(f"ALTER ROLE \"{role}\" PASSWORD '{password}'"))
            db = await conn.scalar(text("SELECT current_database()"))
            await conn.execute(text(f'REVOKE ALL ON DATABASE "{db}" FROM PUBLIC'))
            await conn.execute(text(f'GRANT CONNECT ON DATABASE "{db}" TO "{role}"'))
            await conn.execute(text("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
            await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}" AUTHORIZATION "{role}"'))
            await conn.execute(text(f'ALTER ROLE "{role}" SET search_path = "{schema}"'))
    finally:
        await engine.dispose()
