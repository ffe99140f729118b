"""Analytics' tables, all in its own schema: the record log, one fact row per packet, line outcomes, daily
aggregates, and the bus's tables."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from wiser_servicekit.consumer import lease_tables
from wiser_servicekit.outbox import outbox_tables

SCHEMA = "analytics"
metadata = MetaData(schema=SCHEMA)

# Everything heard about each packet (ids and codes only, never PHI), the source the facts are folded from.
records = Table(
    "records",
    metadata,
    Column("record_id", UUID(as_uuid=True), primary_key=True),
    Column("packet_id", UUID(as_uuid=True), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("version", Integer),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("data", JSONB, nullable=False, server_default="{}"),
    Index("records_packet", "packet_id"),
)

facts = Table(
    "facts",
    metadata,
    Column("packet_id", UUID(as_uuid=True), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("state", String(20)),
    Column("state_entered_at", DateTime(timezone=True)),
    Column("channel", String(20)),
    Column("review_type", String(20)),
    Column("expedited_requested", Boolean, nullable=False),
    Column("reclassified", Boolean, nullable=False),
    Column("state_of_service", String(2)),
    Column("time_zone", String(40), nullable=False),
    Column("service_codes", ARRAY(String(10)), nullable=False),
    Column("practitioner_npi", String(20)),
    Column("resubmission", Boolean, nullable=False),
    Column("received_at", DateTime(timezone=True)),
    Column("received_day", Date),
    Column("due_at", DateTime(timezone=True)),
    Column("determined_at", DateTime(timezone=True)),
    Column("decided_day", Date),
    Column("turnaround_seconds", Float),
    Column("met", Boolean),
    Column("outcome", String(20)),
    Column("lines", JSONB, nullable=False),
    Column("dismissal_codes", ARRAY(String(40)), nullable=False),
    Column("reviewer", String(120)),
    Column("reviewer_role", String(40)),
    Column("assigned_reviewer", String(120)),
    Column("escalated", Boolean, nullable=False),
    Column("sla_breached_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
    Column("closed_day", Date),
    Column("closure_reason", String(20)),
    Column("utn", String(14)),
    Column("corrections", Integer, nullable=False),
    Column("state_first_at", JSONB, nullable=False),
    Column("state_seconds", JSONB, nullable=False),
    Index("facts_state", "state", "received_at"),
    Index("facts_decided", "decided_day", "outcome"),
    Index("facts_received", "received_day"),
    Index("facts_npi", "practitioner_npi", "received_day"),
    Index(
        "facts_reviewer",
        "reviewer",
        "decided_day",
        postgresql_include=["outcome", "met", "turnaround_seconds"],
        postgresql_where=text("outcome IS NOT NULL AND reviewer IS NOT NULL"),
    ),
    # covering indexes (migration 0003): index-only scans for the period queries and the status counts
    Index(
        "facts_decided_cover",
        "decided_day",
        postgresql_include=["outcome", "review_type", "met", "turnaround_seconds", "resubmission", "reviewer"],
        postgresql_where=text("outcome IS NOT NULL"),
    ),
    Index("facts_state_cover", "state", postgresql_include=["received_at", "due_at"]),
    Index("facts_received_cover", "received_day", postgresql_include=["practitioner_npi", "outcome", "channel"]),
)

fact_lines = Table(
    "fact_lines",
    metadata,
    Column("packet_id", UUID(as_uuid=True), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("code", String(10), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("state_of_service", String(2)),
    Column("review_type", String(20)),
    Column("decided_day", Date),
    Index("fact_lines_decided", "decided_day", "code", "state_of_service"),
    Index("fact_lines_decided_cover", "decided_day", postgresql_include=["code", "state_of_service", "outcome"]),
)

daily = Table(
    "daily",
    metadata,
    Column("day", Date, primary_key=True),
    Column("kind", String(20), primary_key=True),  # received | determined | closed
    Column("state_of_service", String(2), primary_key=True),
    Column("review_type", String(20), primary_key=True),
    Column("channel", String(20), primary_key=True),
    Column("outcome", String(20), primary_key=True),  # determined: outcome; closed: closure reason
    Column("count", BigInteger, nullable=False),
    Column("met", BigInteger, nullable=False),
    Column("turnaround_seconds", Float, nullable=False),
    Index("daily_kind_day", "kind", "day", postgresql_include=["channel", "outcome", "count", "met"]),
)

rebuilds = Table(
    "rebuilds",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("history_rows", BigInteger, nullable=False, server_default="0"),
    Column("packets", BigInteger, nullable=False, server_default="0"),
    Column("requested_by", String(120), nullable=False),
    Column("error", Text),
)

outbox, inbox = outbox_tables(metadata)
bus_leases, bus_replicas = lease_tables(metadata)
