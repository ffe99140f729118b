"""Validation's tables, all in its own schema."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
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
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from wiser_servicekit.consumer import lease_tables
from wiser_servicekit.crypto import EncryptedJSON
from wiser_servicekit.outbox import outbox_tables

SCHEMA = "validation"
metadata = MetaData(schema=SCHEMA)

reference_versions = Table(
    "reference_versions",
    metadata,
    Column("name", String(60), primary_key=True),
    Column("effective", Date, primary_key=True),
    Column("source", Text, nullable=False, server_default=""),
    Column("payload", JSONB, nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

runs = Table(
    "runs",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("packet_id", UUID(as_uuid=True), nullable=False),
    Column("run", Integer, nullable=False),
    Column("outcome", String(30), nullable=False),
    Column("trigger_message_id", UUID(as_uuid=True)),
    Column("reference_on", Date, nullable=False),
    Column("peers", JSONB, nullable=False, server_default="{}"),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("packet_id", "run", name="runs_packet_run"),
)

findings = Table(
    "findings",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("run_id", BigInteger, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("check", String(60), nullable=False),
    Column("code", String(60), nullable=False),
    Column("severity", String(20), nullable=False),
    Column("field", String(120)),
    Column("message", Text, nullable=False, server_default=""),
    Column("suggestion", Text),
)

# The packets validation has seen (duplicates, resubmissions): its own copy, learned from intake.
packets_seen = Table(
    "packets_seen",
    metadata,
    Column("packet_id", UUID(as_uuid=True), primary_key=True),
    Column("practitioner_npi", String(20), nullable=False),
    Column("mbi_index", String(64), nullable=False),  # blind index: equal MBIs match, none is readable
    Column("service_ids", ARRAY(String(40)), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("identity", EncryptedJSON, nullable=False),  # first and last name, date of birth (resubmission match)
    Column("open", Boolean, nullable=False, server_default="true"),
    Column("utn", String(14)),
    Index("packets_seen_open", "practitioner_npi", "mbi_index", "open"),
    Index("packets_seen_utn", "utn"),
)

outbox, inbox = outbox_tables(metadata)
bus_leases, bus_replicas = lease_tables(metadata)
