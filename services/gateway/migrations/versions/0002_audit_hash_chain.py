"""The audit trail becomes tamper-evident: a hash chain over the rows and heads sealed in another role's table

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import context, op

from wiser_gateway.usecases.audit import CHAINED, SERVICE
from wiser_servicekit import audit_chain

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The seal is created by the database admin: the gateway's role must not own it.
    settings = context.config.attributes.get("settings")
    if settings is None:
        from wiser_gateway.config import Settings

        settings = Settings()
    audit_chain.ensure_seal_blocking(settings.database_admin_url, settings.database_url)
    op.add_column("audit", sa.Column("prev_hash", sa.String(length=64), nullable=True), schema="gateway")
    op.add_column("audit", sa.Column("row_hash", sa.String(length=64), nullable=True), schema="gateway")
    # Chain the rows already there, oldest first (the append-only trigger is lifted for this one pass).
    op.execute("ALTER TABLE gateway.audit DISABLE TRIGGER audit_append_only")
    audit_chain.chain_existing(op.get_bind(), "gateway.audit", SERVICE, CHAINED)
    op.execute("ALTER TABLE gateway.audit ENABLE TRIGGER audit_append_only")
    op.alter_column("audit", "prev_hash", nullable=False, schema="gateway")
    op.alter_column("audit", "row_hash", nullable=False, schema="gateway")


def downgrade() -> None:
    op.execute("ALTER TABLE gateway.audit DISABLE TRIGGER audit_append_only")
    op.drop_column("audit", "row_hash", schema="gateway")
    op.drop_column("audit", "prev_hash", schema="gateway")
    op.execute("ALTER TABLE gateway.audit ENABLE TRIGGER audit_append_only")
