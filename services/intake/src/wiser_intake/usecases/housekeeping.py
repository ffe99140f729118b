"""Housekeeping: SLA breaches announced once, packets stuck in `received` moved on."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from sqlalchemy import select, update

from wiser_contracts import messages as m
from wiser_servicekit.outbox import add_to_outbox

from ..adapters.tables import (
    outbox,
    packets,
)
from .common import now
from .context import Intake
from .queries import OPEN_STATES
from .submit import start_validation

# ----------------------------------------------------------------------------------- housekeeping


async def housekeeping(ctx: Intake) -> dict[str, int]:
    """Finish T1 for packets left in `received` and raise SLA breaches once per packet."""
    t = now()
    async with ctx.sessions() as session:
        stuck = (
            (
                await session.execute(
                    select(packets.c.id)
                    .where(packets.c.state == "received", packets.c.received_at < t - timedelta(seconds=10))
                    .limit(500)
                )
            )
            .scalars()
            .all()
        )
    for pid in stuck:
        with contextlib.suppress(Exception):
            await start_validation(ctx, pid)
    breached = 0
    async with ctx.sessions() as session, session.begin():
        rows = (
            await session.execute(
                select(packets.c.id, packets.c.state, packets.c.due_at)
                .where(packets.c.due_at < t, packets.c.sla_breached_at.is_(None), packets.c.state.in_(OPEN_STATES))
                .limit(500)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for r in rows:
            await session.execute(update(packets).where(packets.c.id == r.id).values(sla_breached_at=t))
            await add_to_outbox(
                session,
                outbox,
                m.PacketSlaBreached(
                    packet_id=r.id,
                    producer="intake",
                    state=m.PacketState(r.state),
                    due_at=r.due_at,
                ),
            )
            breached += 1
    return {"resumed": len(stuck), "breached": breached}
