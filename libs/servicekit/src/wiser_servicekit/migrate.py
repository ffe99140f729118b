"""The `migrate` command every service shares: role, schema, then Alembic."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

from wiser_contracts.topology import Consumer

from .db import ensure_role_and_schema
from .settings import ServiceSettings


def alembic_config(service_root: Path, database_url: str, schema: str) -> Config:
    cfg = Config(str(service_root / "alembic.ini"))
    cfg.set_main_option("script_location", str(service_root / "migrations"))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    cfg.attributes["schema"] = schema
    return cfg


def migrate(settings: ServiceSettings, service_root: Path, consumer: Consumer | None = None) -> None:
    """Create the service's role and schema, upgrade its tables to head (as the role), and declare its
    exchanges, queues and bindings, so nothing published before its first start is lost."""
    from .bus import declare_topology

    asyncio.run(ensure_role_and_schema(settings.database_admin_url, settings.database_url, settings.db_schema))
    cfg = alembic_config(service_root, settings.database_url, settings.db_schema)
    cfg.attributes["settings"] = settings  # data migrations use these (e.g. PHI keys), not a second reading of env
    command.upgrade(cfg, "head")
    consumers = [consumer] if consumer is not None else []
    asyncio.run(declare_topology(settings.amqp_admin_url or settings.amqp_url, consumers, settings.quorum_queues))


def run_alembic_env(metadata: Any, schema: str) -> None:
    """The body of every service's migrations/env.py: its own schema and version table only."""
    import asyncio as _asyncio

    from alembic import context
    from sqlalchemy import pool
    from sqlalchemy.ext.asyncio import create_async_engine

    config = context.config
    url = config.get_main_option("sqlalchemy.url") or ""

    def configure(connection: Any) -> None:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            include_schemas=False,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as conn:
            await conn.run_sync(configure)
        await engine.dispose()

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, version_table_schema=schema, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        _asyncio.run(run())
