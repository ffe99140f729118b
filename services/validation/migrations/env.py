"""Alembic environment for validation: its own schema and version table only."""

from wiser_servicekit.migrate import run_alembic_env
from wiser_validation.adapters.tables import SCHEMA, metadata

run_alembic_env(metadata, SCHEMA)
