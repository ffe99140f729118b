"""The audit trail: who did or saw what, when, from where. Append-only (a trigger refuses changes) and
tamper-evident: each row chains the previous row's hash, and every new head is sealed in a table the
gateway's role can only insert into, and in the log (wiser_servicekit.audit_chain), so `audit-verify`
finds an edited row, a deleted row and a removed tail."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wiser_servicekit import audit_chain

from ..adapters.tables import audit
from .accounts import User

log = logging.getLogger("wiser.gateway.audit")
SERVICE = "gateway"
CHAINED = (
    "id",
    "at",
    "user_id",
    "username",
    "action",
    "resource_type",
    "resource_id",
    "packet_id",
    "ip",
    "user_agent",
    "outcome",
    "detail",
)


def chained_fields(row: Any) -> dict[str, Any]:
    """The columns the hash covers, from a row or a dict of values."""
    get = row.get if isinstance(row, dict) else lambda k: getattr(row, k)
    return {k: get(k) for k in CHAINED}


async def record(
    sessions: async_sessionmaker[AsyncSession],
    user: User | None,
    action: str,
    *,
    resource_type: str | None = None,
    resource_id: str | None = None,
    packet_id: uuid.UUID | str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    outcome: str = "ok",
    detail: dict[str, Any] | None = None,
) -> None:
    async with sessions() as session, session.begin():
        await append(
            session,
            user_id=user.id if user else None,
            username=user.username if user else None,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            packet_id=uuid.UUID(str(packet_id)) if packet_id else None,
            ip=ip,
            user_agent=(user_agent or "")[:300],
            outcome=outcome,
            detail=detail or {},
        )


async def append(session: AsyncSession, **values: Any) -> int:
    """Append one row to the chain inside the caller's transaction; seal the new head. Returns its id."""
    row_id, row_hash = await audit_chain.append(session, audit, SERVICE, values, CHAINED)

    pending = [True]

    def committed(_: Any) -> None:  # the log's copy of the head, once the row is committed (never a rolled-back one)
        if pending.pop() if pending else False:
            log.info("audit sealed", extra={"audit_id": row_id, "audit_hash": row_hash})

    def rolled_back(_: Any) -> None:
        pending.clear()

    event.listen(session.sync_session, "after_commit", committed, once=True)
    event.listen(session.sync_session, "after_rollback", rolled_back, once=True)
    return row_id


async def verify(session: AsyncSession, logged: Iterable[audit_chain.Head] = ()) -> list[audit_chain.Finding]:
    """Check the whole trail against its chain and its sealed heads (and heads taken from the log)."""
    return await audit_chain.check(session, audit, SERVICE, CHAINED, logged)


async def search(
    session: AsyncSession,
    *,
    username: str | None = None,
    action: str | None = None,
    packet_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
) -> list[Any]:
    query = select(audit).order_by(audit.c.id.desc()).limit(limit)
    if username:
        query = query.where(audit.c.username == username)
    if action:
        query = query.where(audit.c.action == action)
    if packet_id:
        query = query.where(audit.c.packet_id == packet_id)
    if since:
        query = query.where(audit.c.at >= since)
    if until:
        query = query.where(audit.c.at <= until)
    return list((await session.execute(query)).all())
