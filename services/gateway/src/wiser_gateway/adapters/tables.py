"""The gateway's tables: users, sessions and the append-only audit trail."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, DateTime, Index, Integer, MetaData, String, Table, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

SCHEMA = "gateway"
metadata = MetaData(schema=SCHEMA)

users = Table(
    "users",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("username", String(80), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("password_hash", String(300), nullable=False),
    Column("roles", ARRAY(String(40)), nullable=False),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("failed_attempts", Integer, nullable=False, server_default="0"),
    Column("locked_until", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("ip", String(64)),
)

audit = Table(
    "audit",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("user_id", UUID(as_uuid=True)),
    Column("username", String(80)),
    Column("action", String(60), nullable=False),
    Column("resource_type", String(40)),
    Column("resource_id", String(80)),
    Column("packet_id", UUID(as_uuid=True)),
    Column("ip", String(64)),
    Column("user_agent", String(300)),
    Column("outcome", String(20), nullable=False, server_default="ok"),
    Column("detail", JSONB, nullable=False, server_default="{}"),
    # The hash chain (wiser_servicekit.audit_chain): the previous row's hash, and this row's.
    Column("prev_hash", String(64), nullable=False),
    Column("row_hash", String(64), nullable=False),
    Index("audit_at", "at"),
    Index("audit_packet", "packet_id"),
    Index("audit_user", "username", "at"),
)

APPEND_ONLY_SQL = [
    """CREATE OR REPLACE FUNCTION gateway.audit_append_only() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON gateway.audit
    FOR EACH STATEMENT EXECUTE FUNCTION gateway.audit_append_only()""",
]
