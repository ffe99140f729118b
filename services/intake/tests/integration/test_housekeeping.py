"""Housekeeping: packets left in `received` are moved on; a passed deadline is announced once."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import update

from wiser_intake.adapters.tables import packets
from wiser_intake.usecases.packets import housekeeping, now, packet_detail
from wiser_servicekit.testing import BusProbe


async def test_a_breached_deadline_is_announced_once(client, partner, build_packet, ctx, settings) -> None:
    pid = uuid.UUID((await client.post("/api/v1/packets", json=build_packet(), headers=partner)).json()["packet_id"])
    async with ctx.sessions() as session, session.begin():
        await session.execute(update(packets).where(packets.c.id == pid).values(due_at=now() - timedelta(minutes=1)))
    async with BusProbe(settings.amqp_admin_url, ("intake.packet.sla_breached",)) as probe:
        first = await housekeeping(ctx)
        second = await housekeeping(ctx)
        events = await probe.wait_for("intake.packet.sla_breached", pid)
    assert first["breached"] >= 1 and second["breached"] == 0
    assert len(events) == 1 and events[0]["state"] == "validating"
    assert (await packet_detail(ctx, pid))["sla_breached_at"] is not None


async def test_a_packet_left_in_received_is_moved_to_validating(client, partner, build_packet, ctx) -> None:
    pid = uuid.UUID((await client.post("/api/v1/packets", json=build_packet(), headers=partner)).json()["packet_id"])
    # As if intake had died between committing the packet and T1.
    async with ctx.sessions() as session, session.begin():
        await session.execute(
            update(packets)
            .where(packets.c.id == pid)
            .values(state="received", received_at=now() - timedelta(minutes=1))
        )
    result = await housekeeping(ctx)
    assert result["resumed"] >= 1
    detail = await packet_detail(ctx, pid)
    assert detail["state"] == "validating"
    assert [h["transition"] for h in detail["history"]] == ["T1", "T1"]
