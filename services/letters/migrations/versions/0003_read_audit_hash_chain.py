"""The read audit (views) becomes tamper-evident: a hash chain over its rows, heads sealed in another role's table

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import context, op

from wiser_letters.adapters.tables import VIEWS_CHAINED
from wiser_servicekit import audit_chain

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    settings = context.config.attributes.get("settings")
    if settings is None:
        from wiser_letters.config import Settings

        settings = Settings()
    audit_chain.ensure_seal_blocking(settings.database_admin_url, settings.database_url)
    op.add_column("views", sa.Column("prev_hash", sa.String(length=64), nullable=True), schema="letters")
    op.add_column("views", sa.Column("row_hash", sa.String(length=64), nullable=True), schema="letters")
    audit_chain.chain_existing(op.get_bind(), "letters.views", "letters", VIEWS_CHAINED)
    op.alter_column("views", "prev_hash", nullable=False, schema="letters")
    op.alter_column("views", "row_hash", nullable=False, schema="letters")


def downgrade() -> None:
    op.drop_column("views", "row_hash", schema="letters")
    op.drop_column("views", "prev_hash", schema="letters")
