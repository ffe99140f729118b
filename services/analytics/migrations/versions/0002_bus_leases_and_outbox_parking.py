"""The bus at scale: partition leases and replica heartbeats; outbox attempts with backoff and parking.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from wiser_servicekit import bus_migration

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "analytics"


def upgrade() -> None:
    bus_migration.upgrade(op, SCHEMA)


def downgrade() -> None:
    bus_migration.downgrade(op, SCHEMA)
