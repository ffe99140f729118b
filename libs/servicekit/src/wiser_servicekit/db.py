"""Async engine, unit of work, and the service's own role and schema."""

from __future__ import annotations

import re
from types import TracebackType
from typing import Self

from sqlalchemy import Table, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from wiser_contracts.messages import Message

from .outbox import add_to_outbox, record_in_inbox

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def make_engine(url: str, schema: str, pool_size: int = 10) -> AsyncEngine:
    """Engine whose connections see only the service's schema by default; `pool_size` is its whole budget."""
    return create_async_engine(
        url,
        pool_size=pool_size,
        # No overflow: under load (consumers handle many packets at once) an overflow connection is opened and
        # closed for each use, and a new PostgreSQL backend costs milliseconds of CPU on both sides (the
        # pipeline bench saw 10 new connections per 100 packets). Callers wait for a pooled one instead.
        max_overflow=0,
        pool_recycle=1800,  # no pre-ping: it costs a round trip on every checkout
        connect_args={"server_settings": {"search_path": schema, "application_name": schema}},
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


class SqlUnitOfWork:
    """One transaction of a use case: `async with uow:` opens a session, `commit()` makes it stick.

    Leaving the block without `commit()` rolls everything back, the outbox rows included. A service's
    unit of work subclasses this and builds its repositories over `self.session` in `repositories()`;
    use cases see only the service's `usecases/ports.py` Protocol (fakes implement it in memory).
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], outbox: Table, inbox: Table | None = None) -> None:
        self._sessions, self._outbox, self._inbox = sessions, outbox, inbox
        self.session: AsyncSession

    def repositories(self, session: AsyncSession) -> None:
        """Build the service's repositories over `session` (subclasses)."""

    async def __aenter__(self) -> Self:
        self.session = self._sessions()
        await self.session.begin()
        self.repositories(self.session)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self.session.rollback()  # a no-op after commit()
        finally:
            await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()

    async def emit(self, message: Message) -> None:
        """Stage `message` in the outbox: published by the relay once (and only if) this transaction commits."""
        await add_to_outbox(self.session, self._outbox, message)

    async def record_inbox(self, key: str, message: Message) -> bool:
        """Remember that handler `key` consumed `message`; False when it already had (do nothing then)."""
        if self._inbox is None:
            raise RuntimeError("this unit of work has no inbox table")
        return await record_in_inbox(self.session, self._inbox, message.message_id, key)


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
