"""Encrypt PHI at rest: the beneficiary and corrected values, and a blind index instead of the MBI

Revision ID: 0002
Revises: 0001
"""

import json

import sqlalchemy as sa
from alembic import context, op

from wiser_intake.config import Settings
from wiser_servicekit.crypto import FieldCipher

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The settings `migrate` was given (its PHI keys), else the environment's.
    settings = context.config.attributes.get("settings") or Settings()
    cipher = FieldCipher(settings.phi_keys, settings.phi_index_key)
    bind = op.get_bind()
    op.add_column("packets", sa.Column("mbi_index", sa.String(length=64), nullable=True), schema="intake")
    op.execute("ALTER TABLE intake.packets ALTER COLUMN beneficiary TYPE text USING beneficiary::text")
    op.execute("ALTER TABLE intake.corrections ALTER COLUMN old_value TYPE text USING old_value::text")
    op.execute("ALTER TABLE intake.corrections ALTER COLUMN new_value TYPE text USING new_value::text")
    for pid, beneficiary in bind.execute(sa.text("SELECT id, beneficiary FROM intake.packets")).all():
        data = json.loads(beneficiary)
        bind.execute(
            sa.text("UPDATE intake.packets SET beneficiary = :b, mbi_index = :i WHERE id = :id"),
            {"b": cipher.encrypt_json(data), "i": cipher.blind_index(str(data.get("mbi", ""))), "id": pid},
        )
    for cid, old, new in bind.execute(sa.text("SELECT id, old_value, new_value FROM intake.corrections")).all():
        bind.execute(
            sa.text("UPDATE intake.corrections SET old_value = :o, new_value = :n WHERE id = :id"),
            {"o": None if old is None else cipher.encrypt_json(json.loads(old)),
             "n": None if new is None else cipher.encrypt_json(json.loads(new)), "id": cid},
        )
    op.alter_column("packets", "mbi_index", nullable=False, schema="intake")
    op.drop_index("packets_mbi", table_name="packets", schema="intake")
    op.drop_column("packets", "mbi", schema="intake")
    op.create_index("packets_mbi_index", "packets", ["mbi_index"], unique=False, schema="intake")


def downgrade() -> None:
    raise NotImplementedError("decrypting PHI back into plain columns is not offered")
