"""The history export analytics rebuilds its read models from (HTTP_CONTRACTS.md): every history row with
the packet facts it needs, in a stable order (the history row's id), paged by an opaque cursor.
Read-only; ids and codes only, never PHI."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from ..adapters.tables import packets, service_lines, transitions
from .common import _iso
from .context import Intake
from .errors import Malformed


def _cursor(value: str | None) -> int:
    if not value:
        return 0
    try:
        after = int(value)
    except ValueError as e:
        raise Malformed("BAD_CURSOR", "The cursor is not one this API issued.") from e
    if after < 0:
        raise Malformed("BAD_CURSOR", "The cursor is not one this API issued.")
    return after


async def export_history(ctx: Intake, after: str | None, limit: int) -> dict[str, Any]:
    codes = (
        select(func.array_agg(aggregate_order_by(service_lines.c.code, service_lines.c.line_no)))
        .where(service_lines.c.packet_id == transitions.c.packet_id)
        .scalar_subquery()
        .label("service_codes")
    )
    query = (
        select(
            transitions.c.id,
            transitions.c.packet_id,
            transitions.c.transition,
            transitions.c.trigger,
            transitions.c.from_state,
            transitions.c.to_state,
            transitions.c.version,
            transitions.c.actor_type,
            transitions.c.actor_id,
            transitions.c.at,
            packets.c.channel,
            packets.c.review_type,
            packets.c.state_of_service,
            packets.c.submission_type,
            packets.c.practitioner_npi,
            packets.c.received_at,
            packets.c.due_at,
            packets.c.determination,
            packets.c.dismissal,
            packets.c.closure_reason,
            packets.c.utn,
            codes,
        )
        .join(packets, packets.c.id == transitions.c.packet_id)
        .where(transitions.c.id > _cursor(after))
        .order_by(transitions.c.id)
        .limit(limit)
    )
    async with ctx.sessions() as session:
        rows = (await session.execute(query)).all()
    items = []
    for r in rows:
        determined = r.to_state == "determined"
        decided = (r.determination or {}) if determined else {}
        items.append(
            {
                "packet_id": str(r.packet_id),
                "transition": r.transition,
                "trigger": r.trigger,
                "from_state": r.from_state,
                "to_state": r.to_state,
                "version": r.version,
                "actor_type": r.actor_type,
                "actor_id": r.actor_id,
                "at": _iso(r.at),
                "outcome": decided.get("outcome"),
                "lines": [{"code": ln["code"], "outcome": ln["outcome"]} for ln in decided.get("lines") or ()],
                "dismissal_codes": [d["code"] for d in (r.dismissal or {}).get("all") or ()] if determined else [],
                "closure_reason": r.closure_reason if r.to_state == "closed" else None,
                "utn": r.utn,
                "review_type": r.review_type,
                "state_of_service": r.state_of_service,
                "service_codes": list(r.service_codes or []),
                "channel": r.channel,
                "submission_type": r.submission_type,
                "received_at": _iso(r.received_at),
                "due_at": _iso(r.due_at),
                "practitioner_npi": r.practitioner_npi,
            }
        )
    next_cursor = str(rows[-1].id) if len(rows) == limit else None
    return {"items": items, "next_cursor": next_cursor}
