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


async def test_an_object_whose_row_never_committed_is_swept_and_the_others_stay(
    client, partner, build_packet, ctx
) -> None:
    import io
    import json as _json

    from wiser_intake.usecases.housekeeping import sweep_orphans

    pdf = b"%PDF-1.4\nswept"
    r = await client.post(
        "/api/v1/packets",
        data={"packet": _json.dumps(build_packet())},
        files=[("documents", ("keep.pdf", pdf, "application/pdf"))],
        headers=partner,
    )
    assert r.status_code == 201, r.text
    # As if intake had died after the transfer and before its transaction committed.
    orphan = f"packets/{uuid.uuid4()}/{uuid.uuid4()}"
    await ctx.store.put(orphan, io.BytesIO(pdf), "application/pdf", "0" * 64)
    before = await ctx.store.count("packets/")
    assert (await sweep_orphans(ctx, timedelta(hours=1)))["deleted"] == 0  # too young: may be in flight
    result = await sweep_orphans(ctx, timedelta(seconds=-5))
    assert result["deleted"] == 1
    assert await ctx.store.count("packets/") == before - 1
    assert await ctx.store.count(orphan) == 0
