"""The bus's tables in a service's schema (partition leases, replica heartbeats, outbox attempts and parking),
for the service's Alembic migration that adds them: `upgrade(op, schema)` / `downgrade(op, schema)`; and the
record of why each message was parked: `upgrade_parked(op, schema)` / `downgrade_parked(op, schema)`."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def upgrade(op: Any, schema: str) -> None:
    op.create_table(
        "bus_leases",
        sa.Column("partition", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("partition"),
        schema=schema,
    )
    op.create_table(
        "bus_replicas",
        sa.Column("replica_id", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("replica_id"),
        schema=schema,
    )
    op.add_column("outbox", sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True), schema=schema)
    op.add_column("outbox", sa.Column("parked_at", sa.DateTime(timezone=True), nullable=True), schema=schema)


def downgrade(op: Any, schema: str) -> None:
    op.drop_column("outbox", "parked_at", schema=schema)
    op.drop_column("outbox", "next_attempt_at", schema=schema)
    op.drop_table("bus_replicas", schema=schema)
    op.drop_table("bus_leases", schema=schema)


def upgrade_parked(op: Any, schema: str) -> None:
    """Why each parked message was parked (`consumer.ParkLog`): the service's next migration calls this."""
    op.create_table(
        "bus_parked",
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=128), nullable=False),
        sa.Column("error_type", sa.String(length=80), nullable=False),
        sa.Column("error", sa.String(length=300), nullable=False),
        sa.Column("parked_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("message_id"),
        schema=schema,
    )


def downgrade_parked(op: Any, schema: str) -> None:
    op.drop_table("bus_parked", schema=schema)
