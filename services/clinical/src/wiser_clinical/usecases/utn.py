"""The MAC's UTN for every decision on the merits: asked until the MAC answers, published exactly once."""

from __future__ import annotations

import logging

from wiser_contracts import messages as m

from ..domain.decision import utn_retry_delay, utn_well_formed
from .ports import Clinical, MacRefused, MacUnavailable

log = logging.getLogger("wiser.clinical.utn")


async def request_due_utns(ctx: Clinical, limit: int = 20) -> int:
    """Ask the MAC for each due request, one request per transaction (locked, so replicas never ask twice at
    once); a UTN is recorded and `clinical.utn.assigned` written to the outbox in the same transaction, once."""
    assigned = 0
    for _ in range(limit):
        async with ctx.uow() as uow:
            due = await uow.due_utn_requests(ctx.now(), 1)
            if not due:
                return assigned
            req = due[0]
            try:
                utn = await ctx.mac.utn(req["packet_id"], req["state_of_service"], req["outcome"])
                if not utn_well_formed(utn):
                    raise MacUnavailable("the MAC answered a malformed UTN")
            except (MacUnavailable, MacRefused) as e:
                attempts = req["attempts"] + 1
                next_at = ctx.now() + utn_retry_delay(attempts, ctx.utn_retry_base, ctx.utn_retry_max)
                await uow.utn_failed(req["packet_id"], attempts, next_at, type(e).__name__ + ": " + str(e)[:200])
                await uow.commit()
                log.warning("MAC UTN request failed; will ask again", extra={"attempts": attempts})
                continue
            if await uow.utn_assigned(req["packet_id"], utn, ctx.now()):
                await uow.emit(
                    m.UtnAssigned(
                        packet_id=req["packet_id"], producer="clinical", packet_version=req["packet_version"], utn=utn
                    )
                )
                assigned += 1
            await uow.commit()
    return assigned
