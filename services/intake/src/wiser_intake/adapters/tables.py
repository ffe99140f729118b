"""Intake's tables, all in its own schema."""

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
from wiser_servicekit.crypto import EncryptedJSON, EncryptedText
from wiser_servicekit.outbox import outbox_tables

SCHEMA = "intake"
metadata = MetaData(schema=SCHEMA)

partner_clients = Table(
    "partner_clients",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("secret_hash", String(300), nullable=False),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("rate_limit_per_minute", Integer, nullable=False, server_default="6000"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_hash", String(64), primary_key=True),
    Column("client_id", String(64), ForeignKey("partner_clients.client_id"), nullable=False),
    Column("label", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revoked_at", DateTime(timezone=True)),
)

packets = Table(
    "packets",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tracking_number", String(32), nullable=False, unique=True),
    Column("partner_client_id", String(64)),
    Column("channel", String(20), nullable=False),
    Column("external_ref", String(100)),
    Column("submission_type", String(20), nullable=False),
    Column("previous_utn", String(20)),
    Column("review_type", String(20), nullable=False),
    Column("expedited_reason", EncryptedText),  # free text about the patient's condition: encrypted
    Column("state_of_service", String(2), nullable=False),
    Column("place_of_service", String(2), nullable=False),
    Column("type_of_bill", String(4)),
    Column("beneficiary", EncryptedJSON, nullable=False),  # PHI: encrypted at rest
    Column("practitioner", JSONB, nullable=False),
    Column("facility", JSONB),
    Column("requester", JSONB),
    # Search keys (dashboards): keyed blind indexes of the names' words and prefixes, and of the MBI.
    Column("name_index", ARRAY(BigInteger), nullable=False),
    Column("mbi_index", String(64), nullable=False),
    Column("practitioner_npi", String(20), nullable=False),
    Column("state", String(20), nullable=False),
    Column("version", Integer, nullable=False),
    Column("validation_run", Integer, nullable=False, server_default="0"),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("determination", EncryptedJSON),  # reasons and rationale are free text: encrypted
    Column("dismissal", EncryptedJSON),  # the dismissing person's note: encrypted
    Column("utn", String(14)),
    Column("closure_reason", String(20)),
    Column("letters", JSONB, nullable=False, server_default="[]"),
    Column("sla_breached_at", DateTime(timezone=True)),
    Column("payload_hash", String(64), nullable=False),
    Index("packets_partner_received", "partner_client_id", "received_at", "id"),
    Index("packets_state_due", "state", "due_at"),
    Index("packets_due", "due_at", "id"),
    Index("packets_received", "received_at", "id"),
    Index("packets_mbi_index", "mbi_index"),
    Index("packets_utn", "utn"),
    Index("packets_name_index", "name_index", postgresql_using="gin"),
    Index("packets_partner_ref", "partner_client_id", "external_ref"),
)

service_lines = Table(
    "service_lines",
    metadata,
    Column("packet_id", UUID(as_uuid=True), ForeignKey("packets.id", ondelete="CASCADE"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("code", String(5), nullable=False),
    Column("units", Integer, nullable=False),
    Column("modifiers", ARRAY(String(2)), nullable=False, server_default="{}"),
    Column("date_of_service", Date, nullable=False),
    Index("service_lines_code", "code"),
)

diagnoses = Table(
    "diagnoses",
    metadata,
    Column("packet_id", UUID(as_uuid=True), ForeignKey("packets.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("code", String(8), nullable=False),
)

documents = Table(
    "documents",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("packet_id", UUID(as_uuid=True), ForeignKey("packets.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("filename", EncryptedText, nullable=False),  # file names carry patients' names: encrypted
    Column("content_type", String(60), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("category", String(40), nullable=False),
    Column("s3_key", String(200), nullable=False),
    Column("uploaded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

transitions = Table(
    "transitions",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("packet_id", UUID(as_uuid=True), ForeignKey("packets.id", ondelete="CASCADE"), nullable=False),
    Column("transition", String(8), nullable=False),
    Column("from_state", String(20), nullable=False),
    Column("to_state", String(20), nullable=False),
    Column("trigger", String(80), nullable=False),
    Column("actor_type", String(20), nullable=False),
    Column("actor_id", String(120), nullable=False),
    Column("reason", EncryptedText),  # withdraw/dismiss/correction reasons, notes: free text, encrypted
    Column("message_id", UUID(as_uuid=True)),
    Column("version", Integer, nullable=False),
    Column("based_on_version", Integer),  # the packet version the trigger was produced from, when it says
    Column("at", DateTime(timezone=True), nullable=False),
    Index("transitions_packet", "packet_id", "id"),
)

corrections = Table(
    "corrections",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("packet_id", UUID(as_uuid=True), ForeignKey("packets.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("field", String(80), nullable=False),
    Column("old_value", EncryptedJSON),  # corrected values are PHI too
    Column("new_value", EncryptedJSON),
    Column("reason", EncryptedText, nullable=False),
    Column("actor_id", String(120), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

rejections = Table(
    "rejections",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("packet_id", UUID(as_uuid=True), index=True),
    Column("trigger", String(80), nullable=False),
    Column("state", String(20)),
    Column("code", String(60), nullable=False),
    Column("detail", Text),
    Column("message_id", UUID(as_uuid=True)),
    Column("actor_id", String(120)),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("packet_id", UUID(as_uuid=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", String(64), ForeignKey("partner_clients.client_id"), nullable=False, index=True),
    Column("url", String(2000), nullable=False),
    Column("events", ARRAY(String(40)), nullable=False),
    Column("secret", EncryptedJSON, nullable=False),  # the signing secret, encrypted at rest
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("deleted_at", DateTime(timezone=True)),
    UniqueConstraint("client_id", "url", "deleted_at", name="webhooks_unique_url"),
)

outbox, inbox = outbox_tables(metadata)
bus_leases, bus_replicas = lease_tables(metadata)
