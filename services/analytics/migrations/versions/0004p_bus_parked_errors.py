"""Why each parked message was parked (error type and a PHI-free text, when), for the parked-messages listing.

Revision ID: 0004p
Revises: 0003
"""

from alembic import op

from wiser_servicekit import bus_migration

revision = "0004p"
down_revision = "0003"
branch_labels = None
depends_on = None

SCHEMA = "analytics"


def upgrade() -> None:
    bus_migration.upgrade_parked(op, SCHEMA)


def downgrade() -> None:
    bus_migration.downgrade_parked(op, SCHEMA)
