"""The read side: deliveries with their copies and attempts, counts, webhook deliveries (reads the tables)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, func, select

from ..adapters.tables import attempts, copies, deliveries, webhook_attempts, webhook_deliveries
from .context import Outbound


def _iso(v: Any) -> str | None:
    return v.isoformat() if v is not None else None


def _where(channel: str, dest: dict[str, Any]) -> str:
    """Where a copy went, for the ops page (which audits the read): what ops corrects on a retry."""
    if channel == "fax":
        return str(dest.get("fax", ""))
    if channel == "email":
        return str(dest.get("email", ""))
    if channel == "mail":
        return ", ".join(str(dest.get(k)) for k in ("line1", "city", "state", "zip") if dest.get(k))
    if channel == "esmd":
        return f"esMD transaction {dest.get('esmd_transaction', '')}"
    return "the partner's letter.available webhook"


async def listing(
    ctx: Outbound, *, status: str | None, channel: str | None, limit: int, packet_id: uuid.UUID | None = None
) -> list[dict[str, Any]]:
    q = select(deliveries).order_by(deliveries.c.created_at.desc()).limit(limit)
    if status:
        q = q.where(deliveries.c.status == status)
    if packet_id:
        q = q.where(deliveries.c.packet_id == packet_id)
    if channel:
        q = q.where(deliveries.c.id.in_(select(copies.c.delivery_id).where(copies.c.channel == channel)))
    async with ctx.sessions() as session:
        ds = (await session.execute(q)).all()
        cs = (await session.execute(select(copies).where(copies.c.delivery_id.in_([d.id for d in ds])))).all()
        ats = (
            await session.execute(
                select(attempts).where(attempts.c.copy_id.in_([c.id for c in cs])).order_by(attempts.c.id)
            )
        ).all()
    by_copy: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for a in ats:
        by_copy.setdefault(a.copy_id, []).append(
            {
                "n": a.n,
                "outcome": a.outcome,
                "started_at": _iso(a.started_at),
                "finished_at": _iso(a.finished_at),
                "peer_status": a.peer_status,
                "peer_response": a.peer_response,
                "error": a.error,
            }
        )
    by_delivery: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for c in sorted(cs, key=lambda c: c.recipient, reverse=True):  # requester first
        by_delivery.setdefault(c.delivery_id, []).append(
            {
                "tracking_number": (c.destination.get("facts") or {}).get("tracking_number"),
                "copy_id": str(c.id),
                "recipient": c.recipient,
                "channel": c.channel,
                "destination": _where(c.channel, c.destination),
                "letter_id": c.letter_id,
                "status": c.status,
                "reference": c.reference,
                "provider_id": c.provider_id,
                "provider_status": c.provider_status,
                "last_error": c.last_error,
                "attempts": by_copy.get(c.id, []),
                "confirmed_at": _iso(c.confirmed_at),
                "next_attempt_at": _iso(c.next_attempt_at),
            }
        )
    return [
        {
            "delivery_id": str(d.id),
            "packet_id": str(d.packet_id),
            "tracking_number": next((c["tracking_number"] for c in by_delivery.get(d.id, [])), None),
            "round": d.round,
            "status": d.status,
            "kind": d.kind,
            "created_at": _iso(d.created_at),
            "finished_at": _iso(d.finished_at),
            "error": d.error,
            "copies": by_delivery.get(d.id, []),
        }
        for d in ds
    ]


async def counts(ctx: Outbound) -> dict[str, dict[str, int]]:
    q = select(copies.c.channel, copies.c.status, func.count()).group_by(copies.c.channel, copies.c.status)
    async with ctx.sessions() as session:
        rows = (await session.execute(q)).all()
    out: dict[str, dict[str, int]] = {}
    for channel_name, status, n in rows:
        out.setdefault(channel_name, {})[status] = int(n)
    return out


async def webhook_deliveries_of(
    ctx: Outbound, *, packet_id: uuid.UUID | None, status: str | None, limit: int
) -> list[dict[str, Any]]:
    q = select(webhook_deliveries).order_by(webhook_deliveries.c.id.desc()).limit(limit)
    conds = []
    if packet_id is not None:
        conds.append(webhook_deliveries.c.packet_id == packet_id)
    if status is not None:
        conds.append(webhook_deliveries.c.status == status)
    if conds:
        q = q.where(and_(*conds))
    async with ctx.sessions() as session:
        rows = (await session.execute(q)).all()
        tries = (
            await session.execute(
                select(webhook_attempts)
                .where(webhook_attempts.c.delivery_id.in_([r.id for r in rows]))
                .order_by(webhook_attempts.c.id)
            )
        ).all()
    by: dict[int, list[dict[str, Any]]] = {}
    for a in tries:
        by.setdefault(a.delivery_id, []).append(
            {
                "n": a.n,
                "at": a.at.isoformat(),
                "status_code": a.status_code,
                "response": a.response,
                "error": a.error,
                "duration_ms": a.duration_ms,
            }
        )
    return [
        {
            "id": r.id,
            "event_id": str(r.event_id),
            "webhook_id": str(r.subscription_id),
            "packet_id": str(r.packet_id),
            "kind": r.kind,
            "status": r.status,
            "attempts": by.get(r.id, []),
            "created_at": r.created_at.isoformat(),
            "next_attempt_at": _iso(r.next_attempt_at),
            "finished_at": _iso(r.finished_at),
        }
        for r in rows
    ]
