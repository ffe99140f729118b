"""Intake's events outbound handled, kept a while so a webhook registration heard late still gets them.

Revision ID: 0004
Revises: 0003p
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0004"
down_revision = "0003p"
branch_labels = None
depends_on = None

SCHEMA = "outbound"


def upgrade() -> None:
    op.create_table(
        "heard",
        sa.Column("message_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("packet_id", UUID(as_uuid=True), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("to_state", sa.String(40)),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_index("heard_by_client", "heard", ["client_id", "occurred_at"], schema=SCHEMA)
    op.create_index("heard_by_age", "heard", ["occurred_at"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("heard", schema=SCHEMA)
