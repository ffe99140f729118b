"""Names searched through keyed blind indexes, no plaintext name kept; file names and free text encrypted

The lower-cased "first last" kept for search becomes `name_index`: keyed tokens of the names' words and
prefixes (wiser_servicekit.crypto). Document file names, history reasons (withdraw, dismiss, correction
reasons, notes), correction reasons, the expedited reason, the determination (reasons, rationale) and the
dismissal (its note) are encrypted in place.

Revision ID: 0005
Revises: 0004w
"""

import json

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

from wiser_intake.config import Settings
from wiser_servicekit.crypto import FieldCipher

revision = "0005"
down_revision = "0004w"
branch_labels = None
depends_on = None

# (table, column, key column, JSON?) encrypted in place
ENCRYPTED = (
    ("documents", "filename", "id", False),
    ("transitions", "reason", "id", False),
    ("corrections", "reason", "id", False),
    ("packets", "expedited_reason", "id", False),
    ("packets", "determination", "id", True),
    ("packets", "dismissal", "id", True),
)


def upgrade() -> None:
    settings = context.config.attributes.get("settings") or Settings()
    cipher = FieldCipher(settings.phi_keys, settings.phi_index_key)
    bind = op.get_bind()

    op.add_column("packets", sa.Column("name_index", postgresql.ARRAY(sa.BigInteger()), nullable=True), schema="intake")
    for pid, beneficiary in bind.execute(sa.text("SELECT id, beneficiary FROM intake.packets")).all():
        data = cipher.decrypt_json(beneficiary)
        tokens = cipher.name_index(str(data.get("first_name", "")), str(data.get("last_name", "")))
        bind.execute(sa.text("UPDATE intake.packets SET name_index = :t WHERE id = :id"), {"t": tokens, "id": pid})
    op.alter_column("packets", "name_index", nullable=False, schema="intake")
    op.drop_index("packets_name", table_name="packets", schema="intake")
    op.drop_column("packets", "beneficiary_name", schema="intake")
    op.create_index("packets_name_index", "packets", ["name_index"], schema="intake", postgresql_using="gin")

    for table, column, key, is_json in ENCRYPTED:
        op.execute(f"ALTER TABLE intake.{table} ALTER COLUMN {column} TYPE text USING {column}::text")
        select = f"SELECT {key}, {column} FROM intake.{table} WHERE {column} IS NOT NULL"  # noqa: S608 - ENCRYPTED's names
        rows = bind.execute(sa.text(select)).all()
        for row_key, value in rows:
            sealed = cipher.encrypt_json(json.loads(value)) if is_json else cipher.encrypt_text(value)
            bind.execute(
                sa.text(f"UPDATE intake.{table} SET {column} = :v WHERE {key} = :k"),  # noqa: S608 - ENCRYPTED's names
                {"v": sealed, "k": row_key},
            )


def downgrade() -> None:
    raise NotImplementedError("decrypting PHI back into plain columns is not offered")
