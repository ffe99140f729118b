"""The partner's view of its packets (PARTNER_API.md) and its list, in cursor pages (the read side)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select

from ..adapters.tables import packets
from .common import _iso, not_found
from .context import Intake
from .cursor import page
from .queries import _determination, _history


def partner_view(row: Any, history: list[Any]) -> dict[str, Any]:
    dismissal = None
    if row.dismissal:
        dismissal = {
            "code": row.dismissal["code"],
            "reason": row.dismissal.get("reason", ""),
            "corrective_action": row.dismissal.get("corrective_action", ""),
            "all": row.dismissal.get("all", []),
        }
    return {
        "packet_id": str(row.id),
        "tracking_number": row.tracking_number,
        "external_ref": row.external_ref,
        "state": row.state,
        "review_type": row.review_type,
        "received_at": _iso(row.received_at),
        "due_at": _iso(row.due_at),
        "updated_at": _iso(row.updated_at),
        "closure_reason": row.closure_reason,
        "determination": _determination(row),
        "dismissal": dismissal,
        "letters": [
            {
                "letter_id": lt["letter_id"],
                "kind": lt["kind"],
                "url": f"/api/v1/packets/{row.id}/letters/{lt['letter_id']}",
            }
            for lt in (row.letters or [])
        ],
        # State changes only: the UTN's change in place is in `determination.utn`.
        "history": [
            {"from": h.from_state, "to": h.to_state, "at": _iso(h.at)} for h in history if h.transition != "UTN"
        ],
    }


async def get_for_partner(ctx: Intake, client_id: str, packet_id: uuid.UUID) -> dict[str, Any]:
    async with ctx.sessions() as session:
        row = (
            await session.execute(
                select(packets).where(packets.c.id == packet_id, packets.c.partner_client_id == client_id)
            )
        ).first()
        if row is None:
            raise not_found()
        return partner_view(row, await _history(session, packet_id))


async def list_for_partner(
    ctx: Intake,
    client_id: str,
    *,
    external_ref: str | None,
    state: str | None,
    updated_since: datetime | None,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    where: list[Any] = [packets.c.partner_client_id == client_id]
    if external_ref:
        where.append(packets.c.external_ref == external_ref)
    if state:
        where.append(packets.c.state == state)
    if updated_since:
        where.append(packets.c.updated_at >= updated_since)
    async with ctx.sessions() as session:
        rows, next_cursor = await page(session, where, "-received_at", cursor, limit)
        items = [partner_view(r, await _history(session, r.id)) for r in rows]
    return {"items": items, "next_cursor": next_cursor}
