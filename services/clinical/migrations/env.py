"""Alembic environment for clinical: its own schema and version table only."""

from wiser_clinical.adapters.tables import SCHEMA, metadata
from wiser_servicekit.migrate import run_alembic_env

run_alembic_env(metadata, SCHEMA)
