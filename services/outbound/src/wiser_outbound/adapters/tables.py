"""Outbound's tables, all in its own schema."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
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

SCHEMA = "outbound"
metadata = MetaData(schema=SCHEMA)

# What outbound knows of each packet it heard of: whose it is and the channel its letter goes back on.
packets = Table(
    "packets",
    metadata,
    Column("packet_id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", String(64), nullable=False, index=True),
    Column("channel", String(20), nullable=False),
    Column("learned_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Intake's events about partners' packets that outbound handled, kept a while: a webhook registration heard after
# some of its partner's events (they travel on other partitions) still gets those that occurred after it.
heard = Table(
    "heard",
    metadata,
    Column("message_id", UUID(as_uuid=True), primary_key=True),
    Column("packet_id", UUID(as_uuid=True), nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("to_state", String(40)),
    Column("version", Integer, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Index("heard_by_client", "client_id", "occurred_at"),
    Index("heard_by_age", "occurred_at"),
)

# Retry schedule (fixed-delay tiers), budget and breaker per channel; defaults from settings at first start.
channel_settings = Table(
    "channel_settings",
    metadata,
    Column("channel", String(20), primary_key=True),
    Column("delays", ARRAY(Float), nullable=False),
    Column("budget_seconds", Float, nullable=False),
    Column("breaker_threshold", Integer, nullable=False),
    Column("breaker_reset_seconds", Float, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Partner webhooks, registered on intake's partner API and owned here (the secret encrypted at rest).
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", String(64), nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("events", ARRAY(String(40)), nullable=False),
    Column("secret", EncryptedJSON),  # None for a removal heard before its registration
    Column("registered_at", DateTime(timezone=True)),
    Column("removed_at", DateTime(timezone=True)),
)

# One event for one subscription; the body is frozen when the event happened, the event_id never changes.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("subscription_id", UUID(as_uuid=True), ForeignKey("subscriptions.id"), nullable=False),
    Column("packet_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("kind", String(40), nullable=False),
    Column("body", Text, nullable=False),  # the exact JSON sent (signed as is on every attempt)
    Column("status", String(20), nullable=False),  # pending, delivered, failed, refused, cancelled
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("finished_at", DateTime(timezone=True)),
    UniqueConstraint("subscription_id", "event_id", name="webhook_deliveries_once"),
    Index("webhook_deliveries_due", "next_attempt_at", postgresql_where="status = 'pending'"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("delivery_id", BigInteger, ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False),
    Column("n", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("status_code", Integer),
    Column("response", Text),  # the peer's answer, first 500 characters
    Column("error", Text),
    Column("duration_ms", Integer),
    Index("webhook_attempts_delivery", "delivery_id"),
)

# A letter set's delivery for one packet: its decision (round 1, one more per ops retry, T18), or a notice
# (the reclassification notice, which moves nothing).
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("packet_id", UUID(as_uuid=True), nullable=False),
    Column("purpose", String(20), nullable=False, server_default="decision"),  # decision, notice
    Column("round", Integer, nullable=False),
    Column("packet_version", Integer, nullable=False),
    Column("set_id", String(64)),
    Column("kind", String(40)),
    Column("status", String(20), nullable=False),  # sending, completed, failed
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("error", Text),
    UniqueConstraint("packet_id", "purpose", "round", name="deliveries_round"),
)

# One copy of a delivery: the requester's on the packet's channel, the beneficiary's by mail.
copies = Table(
    "copies",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("delivery_id", UUID(as_uuid=True), ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False),
    Column("recipient", String(20), nullable=False),  # requester, beneficiary
    Column("channel", String(20), nullable=False),  # fax, mail, esmd, email, webhook
    Column("letter_id", String(64), nullable=False),
    Column("destination", EncryptedJSON, nullable=False),  # fax number, postal address, email: PHI
    Column("status", String(20), nullable=False),  # pending, sending, sent, confirmed, failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("first_at", DateTime(timezone=True), nullable=False),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("reference", String(80), nullable=False),  # ours, sent to the provider (idempotency key)
    Column("provider_id", String(120)),  # the provider's id for what it accepted
    Column("provider_status", String(40)),
    Column("last_error", Text),
    Column("confirmed_at", DateTime(timezone=True)),
    UniqueConstraint("reference", name="copies_reference"),
    Index("copies_delivery", "delivery_id"),
    Index("copies_due", "next_attempt_at", postgresql_where="status in ('pending', 'sending')"),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("copy_id", UUID(as_uuid=True), ForeignKey("copies.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("n", Integer, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("outcome", String(20), nullable=False),  # started, accepted, rejected, error, recovered
    Column("peer_status", Integer),
    Column("peer_response", Text),  # the peer's answer, first 1000 characters (never the letter)
    Column("error", Text),
)

# Provider callbacks seen (signature checked): a duplicate is recognised and does nothing.
callbacks = Table(
    "callbacks",
    metadata,
    Column("provider", String(20), primary_key=True),
    Column("event_id", String(120), primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("body", JSONB, nullable=False),
)

outbox, inbox = outbox_tables(metadata)
bus_leases, bus_replicas = lease_tables(metadata)
