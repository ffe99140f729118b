"""The audit trail: who did or saw what, when, from where. Append-only (a trigger refuses changes)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..adapters.tables import audit
from .accounts import User


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
        await session.execute(
            audit.insert().values(
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
        )


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
