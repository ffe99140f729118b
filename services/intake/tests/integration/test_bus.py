"""Intake on the bus: exactly-once effects, rejections, parking, concurrency and tracing."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from wiser_contracts import messages as m
from wiser_contracts import topology
from wiser_intake.adapters.tables import transitions
from wiser_intake.entrypoints.messaging import trigger_for
from wiser_intake.usecases.transitions import Applied, apply_bus_trigger
from wiser_servicekit import telemetry
from wiser_servicekit.bus import Publisher, declare_topology, parked_count
from wiser_servicekit.consumer import PartitionedConsumer
from wiser_servicekit.testing import BusProbe, eventually


async def submitted(client, partner, build_packet) -> uuid.UUID:
    r = await client.post("/api/v1/packets", json=build_packet(), headers=partner)
    return uuid.UUID(r.json()["packet_id"])


async def history_count(ctx: Any, pid: uuid.UUID) -> int:
    async with ctx.sessions() as session:
        return int(await session.scalar(select(func.count()).where(transitions.c.packet_id == pid)) or 0)


async def test_the_same_message_delivered_twice_changes_state_once(
    client, partner, build_packet, bus, wait_state, ctx
) -> None:
    pid = await submitted(client, partner, build_packet)
    message = m.PacketValidated(packet_id=pid, producer="validation", run=1, outcome="passed")
    await bus.publish(message)
    await bus.publish(message)
    detail = await wait_state(pid, "clinical_queue")
    await asyncio.sleep(0.5)  # give the second delivery time to be (not) applied
    assert await history_count(ctx, pid) == 2
    assert detail["version"] == 3


async def test_a_malformed_message_is_parked_and_the_consumer_keeps_consuming(
    client, partner, build_packet, bus, wait_state, settings
) -> None:
    before = await parked_count(settings.amqp_admin_url, topology.INTAKE)
    validation = bus.publisher("validation")
    for body in (b'{"packet_id": "not-a-uuid", "run": "x"', b"\x00\xffbinary junk"):
        await validation.publish(
            exchange=topology.EVENTS.name,
            routing_key=m.PacketValidated.TYPE,
            body=body,
            headers={topology.PARTITION_HEADER: str(uuid.uuid4())},
            message_id=str(uuid.uuid4()),
            message_type=m.PacketValidated.TYPE,
        )

    async def parked() -> bool:
        return await parked_count(settings.amqp_admin_url, topology.INTAKE) >= before + 2

    await eventually(parked)
    pid = await submitted(client, partner, build_packet)
    await bus.publish(m.PacketValidated(packet_id=pid, producer="validation", run=1, outcome="passed"))
    await wait_state(pid, "clinical_queue")


async def test_an_event_from_the_wrong_service_is_parked_and_changes_nothing(
    client, partner, build_packet, bus, wait_state, settings, ctx
) -> None:
    pid = await submitted(client, partner, build_packet)
    before = await parked_count(settings.amqp_admin_url, topology.INTAKE)
    forged = m.PacketValidated(packet_id=pid, producer="validation", run=1, outcome="passed")
    # A service's broker user may only publish its own routing keys on wiser.events: the broker refuses these.
    with pytest.raises(Exception):  # noqa: B017 - the channel is closed with ACCESS_REFUSED
        await bus.publish(forged, as_service="clinical")
    with pytest.raises(Exception):  # noqa: B017
        await bus.publish(
            m.ReviewAssigned(packet_id=pid, producer="clinical", reviewer_id="n1"), as_service="validation"
        )
    # An admin (or anyone allowed to write) publishing without validation's user_id: intake parks it.
    admin = Publisher(settings.amqp_admin_url, "not-validation")
    try:
        await admin.publish_message(forged)
    finally:
        await admin.close()

    async def parked() -> bool:
        return await parked_count(settings.amqp_admin_url, topology.INTAKE) >= before + 1

    await eventually(parked)
    assert await history_count(ctx, pid) == 1
    await bus.publish(forged)  # the same event from validation itself is applied
    await wait_state(pid, "clinical_queue")


async def test_an_early_trigger_waits_for_the_event_that_makes_it_legal(
    client, partner, build_packet, bus, wait_state
) -> None:
    pid = await submitted(client, partner, build_packet)
    # Clinical's assignment overtakes validation's result: early, not illegal.
    await bus.publish(m.ReviewAssigned(packet_id=pid, producer="clinical", reviewer_id="nurse-1"))
    await asyncio.sleep(0.3)
    await bus.publish(m.PacketValidated(packet_id=pid, producer="validation", run=1, outcome="passed"))
    detail = await wait_state(pid, "clinical_review")
    assert [x["transition"] for x in detail["history"]] == ["T1", "T2", "T7"]


async def test_an_illegal_trigger_is_rejected_on_the_bus_and_changes_nothing(
    client, partner, build_packet, bus, settings, ctx
) -> None:
    pid = await submitted(client, partner, build_packet)
    r = await client.post(f"/api/v1/packets/{pid}/withdraw", json={"reason": "sent twice"}, headers=partner)
    assert r.is_success, r.text
    async with BusProbe(settings.amqp_admin_url, ("intake.transition.rejected",)) as probe:
        wrong = m.DeliveryCompleted(packet_id=pid, producer="outbound", delivery_id=uuid.uuid4())
        await bus.publish(wrong)
        rejected = await probe.wait_for("intake.transition.rejected", pid)
    assert rejected[0]["code"] == "ILLEGAL_TRANSITION"
    assert rejected[0]["trigger_message_id"] == str(wrong.message_id)
    assert rejected[0]["current_state"] == "closed"
    assert await history_count(ctx, pid) == 2


async def test_a_result_for_an_older_validation_run_is_ignored(
    client, partner, build_packet, bus, wait_state, staff
) -> None:
    pid = await submitted(client, partner, build_packet)
    await bus.publish(
        m.PacketValidated(
            packet_id=pid,
            producer="validation",
            run=1,
            outcome="needs_correction",
            findings=(m.Finding(check="mbi", code="MBI_FORMAT", severity="correction"),),
        )
    )
    await wait_state(pid, "manual_review")
    h = staff("ops_tier1")
    etag = (await client.get(f"/api/v1/ops/packets/{pid}", headers=h)).headers["etag"]
    body = {"corrections": [{"field": "practitioner.ptan", "value": "NJ100000", "reason": "from the form"}]}
    assert (await client.patch(f"/api/v1/ops/packets/{pid}", json=body, headers={**h, "If-Match": etag})).is_success
    await bus.publish(m.PacketValidated(packet_id=pid, producer="validation", run=1, outcome="passed"))
    await bus.publish(m.PacketValidated(packet_id=pid, producer="validation", run=2, outcome="passed"))
    detail = await wait_state(pid, "clinical_queue")
    assert [x["transition"] for x in detail["history"]] == ["T1", "T3", "T5", "T2"]


async def test_fifty_concurrent_triggers_serialise_and_only_legal_ones_win(
    client, partner, build_packet, bus, wait_state, ctx
) -> None:
    pid = await submitted(client, partner, build_packet)
    await bus.publish(m.PacketValidated(packet_id=pid, producer="validation", run=1, outcome="passed"))
    start = await wait_state(pid, "clinical_queue")
    messages: list[m.Message] = []
    for i in range(50):
        kind = i % 3
        if kind == 0:
            messages.append(m.ReviewAssigned(packet_id=pid, producer="clinical", reviewer_id=f"nurse-{i}"))
        elif kind == 1:
            messages.append(m.ReviewReleased(packet_id=pid, producer="clinical", reviewer_id=f"nurse-{i}"))
        else:
            messages.append(m.DeliveryCompleted(packet_id=pid, producer="outbound", delivery_id=uuid.uuid4()))
    results = await asyncio.gather(
        *[apply_bus_trigger(ctx.uow, "test.concurrent", msg, trigger_for(msg)) for msg in messages]
    )
    wins = [r for r in results if isinstance(r, Applied)]
    assert wins, "at least one assignment must win"
    assert all(r.move.transition in ("T7", "T8") for r in wins)
    from wiser_intake.usecases.packets import packet_detail

    after = await packet_detail(ctx, pid)
    assert after["version"] - start["version"] == len(wins)
    chain = after["history"][len(start["history"]) :]
    assert len(chain) == len(wins)
    for prev, nxt in itertools.pairwise(chain):
        assert prev["to"] == nxt["from"]
    assert [h["version"] for h in chain] == list(range(start["version"] + 1, after["version"] + 1))


async def test_one_trace_spans_the_submit_the_publish_and_the_handling(client, partner, build_packet, settings) -> None:
    exporter = telemetry.memory_exporter()
    exporter.clear()
    handled: asyncio.Queue[m.PacketTransitioned] = asyncio.Queue()
    probe = topology.Consumer(
        f"tracetest{uuid.uuid4().hex[:6]}", (topology.Interest("on_transitioned", m.PacketTransitioned),), partitions=1
    )
    await declare_topology(settings.amqp_admin_url, [probe], quorum=False)

    async def handle(message: m.PacketTransitioned) -> None:
        await handled.put(message)

    consumer = PartitionedConsumer(probe, {m.PacketTransitioned.TYPE: handle}, settings.amqp_admin_url)
    await consumer.acquire(0)
    try:
        r = await client.post("/api/v1/packets", json=build_packet(), headers=partner)
        pid = r.json()["packet_id"]
        while True:
            message = await asyncio.wait_for(handled.get(), 20)
            if str(message.packet_id) == pid:
                break
        await asyncio.sleep(0.2)
    finally:
        await consumer.stop()
    spans = exporter.get_finished_spans()
    server = [
        s
        for s in spans
        if s.attributes.get("http.route") == "/api/v1/packets"
        or (s.name.startswith("POST /api/v1/packets") and s.kind.name == "SERVER")
    ]
    publish = [
        s
        for s in spans
        if s.name.startswith("intake.packet.transitioned.")
        and s.name.endswith(" publish")
        and s.attributes.get(telemetry.PACKET_ATTR) == pid
    ]
    process = [
        s
        for s in spans
        if s.name == f"{probe.service}.on_transitioned process" and s.attributes.get(telemetry.PACKET_ATTR) == pid
    ]
    assert server and publish and process, [s.name for s in spans][-20:]
    trace_ids = {publish[0].context.trace_id, process[0].context.trace_id}
    assert len(trace_ids) == 1
    assert publish[0].context.trace_id in {s.context.trace_id for s in server}
    assert process[0].parent is not None and process[0].parent.span_id == publish[0].context.span_id


async def test_history_shows_which_packet_version_a_trigger_was_based_on(
    client, partner, build_packet, bus, wait_state
):
    pid = await submitted(client, partner, build_packet)
    await bus.publish(
        m.PacketValidated(packet_id=pid, producer="validation", run=1, outcome="passed", packet_version=2)
    )
    detail = await wait_state(pid, "clinical_queue")
    assert [(h["transition"], h["based_on_version"]) for h in detail["history"]] == [("T1", None), ("T2", 2)]


async def test_a_command_acts_only_for_the_person_in_its_bound_gateway_token(
    client, partner, build_packet, bus, settings, ctx, wait_state, on_behalf
) -> None:
    from wiser_servicekit.identity import DEMO_PRIVATE_KEYS

    pid = await submitted(client, partner, build_packet)
    withdraw, revalidate = m.WithdrawPacket.TYPE, m.RevalidatePacket.TYPE

    def command(token: str | None) -> m.WithdrawPacket:
        return m.WithdrawPacket(
            packet_id=pid,
            producer="gateway",
            requested_by="sup-1",
            requested_by_roles=("supervisor",),
            reason="duplicate",
            on_behalf_of=token,
        )

    refused = [
        command(None),
        command("not-a-token"),
        command(on_behalf(pid, withdraw, "ops_tier1", user="sup-1")),  # a person without the role
        command(on_behalf(uuid.uuid4(), withdraw, "supervisor", user="sup-1")),  # another packet
        command(on_behalf(pid, revalidate, "supervisor", user="sup-1")),  # another action
        command(on_behalf(pid, withdraw, "supervisor", user="sup-1", key=DEMO_PRIVATE_KEYS["wiser-validation"])),
    ]
    async with BusProbe(settings.amqp_admin_url, ("intake.transition.rejected",)) as probe:
        for message in refused:
            await bus.publish(message)
        rejected = await probe.wait_for("intake.transition.rejected", pid, count=len(refused))
    assert {r["code"] for r in rejected} == {"ROLE_FORBIDDEN"}
    assert await history_count(ctx, pid) == 1
    await bus.publish(command(on_behalf(pid, withdraw, "supervisor", user="sup-7")))
    detail = await wait_state(pid, "closed")
    last = detail["history"][-1]
    assert (last["transition"], last["actor_id"]) == ("T19", "sup-7")


async def test_a_command_replayed_after_its_token_expired_still_acts_within_the_maximum_age(
    client, partner, build_packet, bus, wait_state
) -> None:
    from datetime import UTC, datetime, timedelta

    from wiser_servicekit.identity import DEMO_PRIVATE_KEYS, issue_command_token

    pid = await submitted(client, partner, build_packet)
    asked = datetime.now(UTC) - timedelta(hours=3)
    token = issue_command_token(
        DEMO_PRIVATE_KEYS["wiser-gateway"],
        "sup-1",
        ["supervisor"],
        pid,
        m.WithdrawPacket.TYPE,
        ttl=60,
        now=asked.timestamp(),
    )
    await bus.publish(
        m.WithdrawPacket(
            packet_id=pid,
            producer="gateway",
            occurred_at=asked + timedelta(seconds=2),
            requested_by="sup-1",
            reason="duplicate",
            on_behalf_of=token,
        )
    )
    await wait_state(pid, "closed")
