"""Why each parked message was parked (error type and a PHI-free text, when), for the parked-messages listing.

Revision ID: 0003p
Revises: 0002
"""

from alembic import op

from wiser_servicekit import bus_migration

revision = "0003p"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "outbound"


def upgrade() -> None:
    bus_migration.upgrade_parked(op, SCHEMA)


def downgrade() -> None:
    bus_migration.downgrade_parked(op, SCHEMA)
