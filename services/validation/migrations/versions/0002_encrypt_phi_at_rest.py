"""Encrypt PHI at rest in the seen-packets copy: names and birth date encrypted, the MBI as a blind index

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import context, op

from wiser_servicekit.crypto import FieldCipher
from wiser_validation.config import Settings

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The settings `migrate` was given (its PHI keys), else the environment's.
    settings = context.config.attributes.get("settings") or Settings()
    cipher = FieldCipher(settings.phi_keys, settings.phi_index_key)
    bind = op.get_bind()
    op.add_column("packets_seen", sa.Column("mbi_index", sa.String(length=64), nullable=True), schema="validation")
    op.add_column("packets_seen", sa.Column("identity", sa.Text(), nullable=True), schema="validation")
    rows = bind.execute(
        sa.text("SELECT packet_id, mbi, first_name, last_name, date_of_birth FROM validation.packets_seen")
    ).all()
    for pid, mbi, first, last, dob in rows:
        identity = {"first_name": first, "last_name": last, "date_of_birth": dob.isoformat()}
        bind.execute(
            sa.text("UPDATE validation.packets_seen SET mbi_index = :i, identity = :d WHERE packet_id = :id"),
            {"i": cipher.blind_index(mbi), "d": cipher.encrypt_json(identity), "id": pid},
        )
    op.alter_column("packets_seen", "mbi_index", nullable=False, schema="validation")
    op.alter_column("packets_seen", "identity", nullable=False, schema="validation")
    op.drop_index("packets_seen_open", table_name="packets_seen", schema="validation")
    for column in ("mbi", "first_name", "last_name", "date_of_birth"):
        op.drop_column("packets_seen", column, schema="validation")
    op.create_index("packets_seen_open", "packets_seen", ["practitioner_npi", "mbi_index", "open"], unique=False,
                    schema="validation")


def downgrade() -> None:
    raise NotImplementedError("decrypting PHI back into plain columns is not offered")
