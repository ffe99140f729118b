"""Housekeeping: SLA breaches announced once, packets stuck in `received` moved on."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from wiser_contracts import messages as m

from .common import OPEN_STATES
from .context import Intake
from .submit import start_validation


async def housekeeping(ctx: Intake) -> dict[str, int]:
    """Finish T1 for packets left in `received` and raise SLA breaches once per packet."""
    t = ctx.clock()
    async with ctx.uow() as uow:
        stuck = await uow.packets.stuck_in_received(t - timedelta(seconds=10), limit=500)
    for pid in stuck:
        with contextlib.suppress(Exception):
            await start_validation(ctx, pid)
    async with ctx.uow() as uow:
        rows = await uow.packets.lock_overdue(t, OPEN_STATES, limit=500)
        for r in rows:
            await uow.packets.update(r.id, {"sla_breached_at": t})
            await uow.emit(
                m.PacketSlaBreached(packet_id=r.id, producer="intake", state=m.PacketState(r.state), due_at=r.due_at)
            )
        await uow.commit()
    return {"resumed": len(stuck), "breached": len(rows)}


# ------------------------------------------------------------------------------------ orphaned objects

DOCUMENT_PREFIX = "packets/"


async def sweep_orphans(ctx: Intake, older_than: timedelta = timedelta(hours=1)) -> dict[str, Any]:
    """Delete document objects whose row never committed (a transfer finished, then the transaction did not).

    Only objects older than `older_than` are candidates: an upload in flight has its object before its row.
    """
    candidates = await ctx.store.older_than(DOCUMENT_PREFIX, ctx.clock() - older_than)
    orphans: list[str] = []
    for i in range(0, len(candidates), 500):
        batch = candidates[i : i + 500]
        async with ctx.uow() as uow:
            known = await uow.documents.known_keys(batch)
        orphans += [k for k in batch if k not in known]
    for i in range(0, len(orphans), 1000):
        await ctx.store.delete(orphans[i : i + 1000])
    return {"checked": len(candidates), "deleted": len(orphans)}
