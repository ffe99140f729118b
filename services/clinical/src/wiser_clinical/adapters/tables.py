"""Clinical's tables, all in its own schema.

No PHI is kept here: a case holds the packet summary clinical received (ids, codes, dates, state of service);
reviewers read the beneficiary and the documents from intake (its owner) when they open a case.
"""

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
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from wiser_servicekit.consumer import lease_tables
from wiser_servicekit.outbox import outbox_tables

SCHEMA = "clinical"
metadata = MetaData(schema=SCHEMA)

reviewers = Table(
    "reviewers",
    metadata,
    Column("user_id", String(80), primary_key=True),  # the gateway's user id (the `sub` of people's tokens)
    Column("display_name", String(200), nullable=False, server_default=""),
    Column("role", String(30), nullable=False),  # clinical_reviewer | medical_director
    Column("specialties", ARRAY(String(60)), nullable=False, server_default="{}"),
    Column("licences", JSONB, nullable=False, server_default="[]"),  # [{"state": "NJ", "expires": "2027-06-30"}]
    Column("services", ARRAY(String(60)), nullable=False, server_default="{}"),  # service ids they review
    Column("capacity", Integer, nullable=False),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("auto_assign", Boolean, nullable=False, server_default="true"),  # false: takes cases from the queue
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

cases = Table(
    "cases",
    metadata,
    Column("packet_id", UUID(as_uuid=True), primary_key=True),
    Column("tracking_number", String(40), nullable=False),
    Column("status", String(20), nullable=False),  # queued | in_review | md_review | determined | closed
    Column("packet_version", Integer, nullable=False),
    Column("service_id", String(60)),  # the Appendix A service; None if no checklist covers its codes
    Column("state_of_service", String(2), nullable=False),
    Column("review_type", String(20), nullable=False),
    Column("urgency", String(20)),  # expedited only: confirmed | refused
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("lines", JSONB, nullable=False),  # [{"line_no", "code", "units", "date_of_service"}]
    Column("summary", JSONB, nullable=False),  # the rest of what clinical received (no PHI)
    Column("checklist_version", String(20)),
    Column("declined_by", ARRAY(String(80)), nullable=False, server_default="{}"),  # released it: not auto-again
    Column("escalated_by", String(80)),
    Column("recommendation", JSONB),  # the nurse's escalation: {"outcome", "rationale", "lines"}
    Column("enqueued_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("cases_open", "status", "due_at"),
)

assignments = Table(
    "assignments",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("packet_id", UUID(as_uuid=True), ForeignKey("cases.packet_id"), nullable=False),
    Column("reviewer_id", String(80), nullable=False),
    Column("stage", String(20), nullable=False),  # nurse | md
    Column("assigned_by", String(80), nullable=False),  # "system" or the supervisor's / reviewer's user id
    Column("assigned_at", DateTime(timezone=True), nullable=False),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("ended_at", DateTime(timezone=True)),
    Column("end_reason", String(40)),
    # One active assignment per case, enforced by the database.
    Index("assignments_one_active", "packet_id", unique=True, postgresql_where=text("active")),
    Index("assignments_reviewer_active", "reviewer_id", postgresql_where=text("active")),
)

answers = Table(
    "checklist_answers",
    metadata,
    Column("packet_id", UUID(as_uuid=True), ForeignKey("cases.packet_id"), primary_key=True),
    Column("criterion_id", String(60), primary_key=True),
    Column("answer", String(20), nullable=False),  # met | not_met | not_documented
    Column("evidence", JSONB, nullable=False, server_default="[]"),  # [{"document_id", "page", "quote"}]
    Column("note", Text, nullable=False, server_default=""),
    Column("answered_by", String(80), nullable=False),
    Column("answered_at", DateTime(timezone=True), nullable=False),
)

notes = Table(
    "notes",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("packet_id", UUID(as_uuid=True), ForeignKey("cases.packet_id"), nullable=False, index=True),
    Column("author", String(80), nullable=False),
    Column("kind", String(30), nullable=False),  # note | escalation | return | release | urgency | reassignment
    Column("text", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

determinations = Table(
    "determinations",
    metadata,
    Column("packet_id", UUID(as_uuid=True), ForeignKey("cases.packet_id"), primary_key=True),
    Column("outcome", String(30), nullable=False),
    Column("decided_by", String(80), nullable=False),
    Column("decided_by_role", String(30), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("rationale", Text),
    Column("lines", JSONB, nullable=False),  # [{"code", "units", "outcome", "unmet": [{"criterion_id","reason"}]}]
    Column("checklist_version", String(20)),
)

utn_requests = Table(
    "utn_requests",
    metadata,
    Column("packet_id", UUID(as_uuid=True), ForeignKey("cases.packet_id"), primary_key=True),
    Column("state_of_service", String(2), nullable=False),
    Column("outcome", String(30), nullable=False),
    Column("packet_version", Integer, nullable=False),
    Column("status", String(20), nullable=False, server_default="pending"),  # pending | assigned | refused
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_error", Text),
    Column("utn", String(14)),
    Column("assigned_at", DateTime(timezone=True)),
    UniqueConstraint("utn", name="utn_requests_utn"),
    Index("utn_requests_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
)

# Every read of intake's packet data on a person's behalf (who, which packet, what, when).
reads = Table(
    "reads",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("user_id", String(80), nullable=False),
    Column("packet_id", UUID(as_uuid=True), nullable=False),
    Column("what", String(80), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

outbox, inbox = outbox_tables(metadata)
bus_leases, bus_replicas = lease_tables(metadata)
