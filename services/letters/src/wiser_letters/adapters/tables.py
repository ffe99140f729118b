"""Letters' tables, all in its own schema."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from wiser_servicekit.consumer import lease_tables
from wiser_servicekit.crypto import EncryptedJSON
from wiser_servicekit.outbox import outbox_tables

SCHEMA = "letters"
metadata = MetaData(schema=SCHEMA)

# Template versions: the texts every letter of that version is composed from (never changed once loaded).
templates = Table(
    "templates",
    metadata,
    Column("version", String(40), primary_key=True),
    Column("texts", JSONB, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# What letters knows of each packet from intake's events.
packets = Table(
    "packets",
    metadata,
    Column("packet_id", UUID(as_uuid=True), primary_key=True),
    Column("state", String(30), nullable=False),
    Column("version", Integer, nullable=False),
    Column("outcome", String(30)),
    Column("utn", String(14)),
    Column("review_type", String(20)),
    Column("due_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# A packet's letter set (the decision letters, or a reclassification notice) and its current version.
letter_sets = Table(
    "letter_sets",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("packet_id", UUID(as_uuid=True), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("blocked_reason", Text),
    Column("template_version", String(40)),
    Column("tracking_number", String(40)),
    Column("due_at", DateTime(timezone=True)),
    # Free-text paragraphs people rewrote, per recipient (may name the beneficiary: encrypted).
    Column("paragraphs", EncryptedJSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("packet_id", "kind", name="letter_sets_packet_kind"),
    Index("letter_sets_status", "status", "due_at"),
)

letters = Table(
    "letters",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("set_id", UUID(as_uuid=True), ForeignKey("letter_sets.id"), nullable=False),
    Column("recipient", String(20), nullable=False),
    UniqueConstraint("set_id", "recipient", name="letters_set_recipient"),
)

# Every version of a set: who made it and why (drafted, redrafted after a rejection, edited, blocked).
set_versions = Table(
    "set_versions",
    metadata,
    Column("set_id", UUID(as_uuid=True), ForeignKey("letter_sets.id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("action", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("actor", String(120), nullable=False),
    Column("reason", Text),
    Column("template_version", String(40)),
    Column("packet_version", Integer),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Every version of a letter: its PDF in S3 (keyed by letter id and version), the model it was drawn from.
letter_versions = Table(
    "letter_versions",
    metadata,
    Column("letter_id", UUID(as_uuid=True), ForeignKey("letters.id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("object_key", String(200)),
    Column("sha256", String(64)),
    Column("size", Integer),
    Column("pages", Integer),
    Column("passed", Boolean, nullable=False),
    Column("model", EncryptedJSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

check_results = Table(
    "check_results",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("letter_id", UUID(as_uuid=True), nullable=False),
    Column("version", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    Column("check", String(40), nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("detail", Text, nullable=False, server_default=""),
    Index("check_results_letter", "letter_id", "version"),
)

approvals = Table(
    "approvals",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("set_id", UUID(as_uuid=True), ForeignKey("letter_sets.id"), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("decision", String(20), nullable=False),  # approved | rejected
    Column("by", String(120), nullable=False),
    Column("role", String(40)),
    Column("reason", Text),
    Column("at", DateTime(timezone=True), nullable=False),
)

# Every view of a letter set or a PDF: who (person, service, or partner through intake), which version, when.
views = Table(
    "views",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("what", String(20), nullable=False),  # pdf | set | history
    Column("set_id", UUID(as_uuid=True)),
    Column("letter_id", UUID(as_uuid=True)),
    Column("version", Integer),
    Column("viewer", String(120), nullable=False),
    Column("roles", String(200), nullable=False, server_default=""),
    Column("on_behalf_of", String(120)),
    Column("outcome", String(20), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    # The read audit's hash chain (wiser_servicekit.audit_chain): the previous row's hash, and this row's.
    Column("prev_hash", String(64), nullable=False),
    Column("row_hash", String(64), nullable=False),
)
VIEWS_CHAINED = ("id", "what", "set_id", "letter_id", "version", "viewer", "roles", "on_behalf_of", "outcome", "at")

outbox, inbox = outbox_tables(metadata)
bus_leases, bus_replicas = lease_tables(metadata)
