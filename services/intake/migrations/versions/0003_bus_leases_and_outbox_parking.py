"""The bus at scale: partition leases and replica heartbeats; outbox attempts with backoff and parking; the version
a trigger was based on, in history.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "intake"


def upgrade() -> None:
    op.create_table(
        "bus_leases",
        sa.Column("partition", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("partition"),
        schema=SCHEMA,
    )
    op.create_table(
        "bus_replicas",
        sa.Column("replica_id", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("replica_id"),
        schema=SCHEMA,
    )
    op.add_column("outbox", sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True), schema=SCHEMA)
    op.add_column("outbox", sa.Column("parked_at", sa.DateTime(timezone=True), nullable=True), schema=SCHEMA)
    op.add_column("transitions", sa.Column("based_on_version", sa.Integer(), nullable=True), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("transitions", "based_on_version", schema=SCHEMA)
    op.drop_column("outbox", "parked_at", schema=SCHEMA)
    op.drop_column("outbox", "next_attempt_at", schema=SCHEMA)
    op.drop_table("bus_replicas", schema=SCHEMA)
    op.drop_table("bus_leases", schema=SCHEMA)
