"""Webhook signing secrets encrypted at rest (Fernet, the PHI keys); one live webhook per partner and URL

Revision ID: 0004w
Revises: 0003
"""


import sqlalchemy as sa
from alembic import context, op

from wiser_intake.config import Settings
from wiser_servicekit.crypto import FieldCipher

revision = "0004w"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    settings = context.config.attributes.get("settings") or Settings()
    cipher = FieldCipher(settings.phi_keys, settings.phi_index_key)
    bind = op.get_bind()
    op.execute("ALTER TABLE intake.webhooks ALTER COLUMN secret TYPE text")
    for wid, secret in bind.execute(sa.text("SELECT id, secret FROM intake.webhooks")).all():
        try:
            cipher.decrypt_json(secret)
            continue  # already encrypted
        except ValueError:
            pass
        bind.execute(
            sa.text("UPDATE intake.webhooks SET secret = :s WHERE id = :id"),
            {"s": cipher.encrypt_json(secret), "id": wid},
        )


    # The old unique constraint includes deleted_at, which is NULL for every live row: it never held.
    op.execute(
        "UPDATE intake.webhooks w SET deleted_at = now() WHERE deleted_at IS NULL AND EXISTS (SELECT 1 FROM"
        " intake.webhooks o WHERE o.client_id = w.client_id AND o.url = w.url AND o.deleted_at IS NULL"
        " AND (o.created_at, o.id) > (w.created_at, w.id))"
    )
    op.execute(
        "CREATE UNIQUE INDEX webhooks_live_url ON intake.webhooks (client_id, url) WHERE deleted_at IS NULL"
    )


def downgrade() -> None:
    raise NotImplementedError("decrypting secrets back into a plain column is not offered")
