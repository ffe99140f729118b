"""Alembic environment for analytics: its own schema and version table only."""

from wiser_analytics.adapters.tables import SCHEMA, metadata
from wiser_servicekit.migrate import run_alembic_env

run_alembic_env(metadata, SCHEMA)
