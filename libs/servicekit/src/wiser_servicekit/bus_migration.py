"""The bus's tables in a service's schema, for its Alembic migrations, written once:

- the outbox (with its pending index and the NOTIFY that wakes the relay) and the inbox, in the service's first
  migration: `create_outbox_inbox(op, schema)` / `drop_outbox_inbox(op, schema)`;
- partition leases, replica heartbeats, outbox attempts and parking: `upgrade(op, schema)` / `downgrade(op, schema)`;
- why each message was parked: `upgrade_parked(op, schema)` / `downgrade_parked(op, schema)`."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from .outbox import notify_trigger_sql


def create_outbox_inbox(op: Any, schema: str) -> None:
    """The tables `outbox.outbox_tables` describes, as every service's first migration creates them."""
    op.create_table(
        "inbox",
        sa.Column("message_id", sa.UUID(), nullable=False),
        sa.Column("handler", sa.String(length=200), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("message_id", "handler"),
        schema=schema,
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.UUID(), nullable=False),
        sa.Column("type", sa.String(length=120), nullable=False),
        sa.Column("exchange", sa.String(length=120), nullable=False),
        sa.Column("routing_key", sa.String(length=200), nullable=False),
        sa.Column("packet_id", sa.UUID(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
        schema=schema,
    )
    op.execute(f'CREATE INDEX outbox_pending ON "{schema}".outbox (id) WHERE published_at IS NULL')
    for statement in notify_trigger_sql(schema):
        op.execute(statement)


def drop_outbox_inbox(op: Any, schema: str) -> None:
    op.execute(f'DROP FUNCTION IF EXISTS "{schema}".outbox_notify() CASCADE')
    op.drop_table("outbox", schema=schema)
    op.drop_table("inbox", schema=schema)


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
