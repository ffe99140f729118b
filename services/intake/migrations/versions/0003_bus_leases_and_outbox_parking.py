"""The bus at scale: partition leases and replica heartbeats; outbox attempts with backoff and parking; the version
a trigger was based on, in history.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from wiser_servicekit import bus_migration

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "intake"


def upgrade() -> None:
    bus_migration.upgrade(op, SCHEMA)
    op.add_column("transitions", sa.Column("based_on_version", sa.Integer(), nullable=True), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("transitions", "based_on_version", schema=SCHEMA)
    bus_migration.downgrade(op, SCHEMA)
