"""The `migrate` command every service shares: role, schema, then Alembic."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

from .db import ensure_role_and_schema
from .settings import ServiceSettings


def alembic_config(service_root: Path, database_url: str, schema: str) -> Config:
    cfg = Config(str(service_root / "alembic.ini"))
    cfg.set_main_option("script_location", str(service_root / "migrations"))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    cfg.attributes["schema"] = schema
    return cfg


def migrate(settings: ServiceSettings, service_root: Path) -> None:
    """Create the service's role and schema, then upgrade its tables to head (as the role)."""
    asyncio.run(ensure_role_and_schema(settings.database_admin_url, settings.database_url, settings.db_schema))
    command.upgrade(alembic_config(service_root, settings.database_url, settings.db_schema), "head")
