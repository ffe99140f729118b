"""Keyset paging of packets: an opaque cursor (the sort value and id of the last row) and the sorts allowed."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..adapters.tables import packets
from .errors import Malformed


def _encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (sort value, packet id) a cursor this API issued holds; Malformed for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded))
        if not isinstance(values, list) or len(values) != 2 or not all(isinstance(v, str) for v in values):
            raise ValueError("not a cursor")
        at = datetime.fromisoformat(values[0])
        if at.tzinfo is None:
            raise ValueError("not a cursor")
        return at, uuid.UUID(values[1])
    except (ValueError, TypeError, RecursionError) as e:  # binascii.Error is a ValueError
        raise Malformed("BAD_CURSOR", "The cursor is not one this API issued.", title="Bad cursor") from e


SORTS = {
    "-received_at": (packets.c.received_at, True),
    "received_at": (packets.c.received_at, False),
    "due_at": (packets.c.due_at, False),
    "-due_at": (packets.c.due_at, True),
    "-updated_at": (packets.c.updated_at, True),
}


async def page(
    session: AsyncSession, where: list[Any], sort: str, cursor: str | None, limit: int
) -> tuple[list[Any], str | None]:
    column, desc = SORTS[sort]
    query = select(packets).where(*where)
    if cursor:
        at, pid = _decode_cursor(cursor)
        if desc:
            query = query.where(or_(column < at, and_(column == at, packets.c.id < pid)))
        else:
            query = query.where(or_(column > at, and_(column == at, packets.c.id > pid)))
    order = (column.desc(), packets.c.id.desc()) if desc else (column.asc(), packets.c.id.asc())
    rows = list((await session.execute(query.order_by(*order).limit(limit + 1))).all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = _encode_cursor([getattr(last, column.key).isoformat(), str(last.id)])
    return rows, next_cursor
