"""The bus on real RabbitMQ and PostgreSQL: the relay, the partitioned consumer, leases, declaration at deploy time."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest
from sqlalchemy import MetaData, select, text

from wiser_contracts import messages as m
from wiser_contracts import topology
from wiser_servicekit.bus import Publisher, declare_topology
from wiser_servicekit.consumer import Defer, PartitionedConsumer, PartitionLeases, lease_tables
from wiser_servicekit.db import make_engine, make_sessionmaker
from wiser_servicekit.outbox import OutboxRelay, add_to_outbox, outbox_tables
from wiser_servicekit.testing import Infra, eventually

SCHEMA = "bustest"


@pytest.fixture(scope="module")
async def world(infra: Infra) -> AsyncIterator[Any]:
    """A vhost and database of their own (so nothing else is bound), with an outbox and lease tables."""
    own = infra.derive("bus")
    metadata = MetaData(schema=SCHEMA)
    outbox, _ = outbox_tables(metadata)
    leases, replicas = lease_tables(metadata)
    engine = make_engine(own.sqlalchemy_url(), SCHEMA, 5)
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        await conn.run_sync(metadata.create_all)

    class World:
        pass

    w = World()
    w.infra, w.outbox, w.leases, w.replicas = own, outbox, leases, replicas  # type: ignore[attr-defined]
    w.sessions = make_sessionmaker(engine)  # type: ignore[attr-defined]
    await declare_topology(own.amqp_url, [], quorum=False)
    yield w
    await engine.dispose()


async def _stage(world: Any, *messages: m.Message) -> None:
    async with world.sessions() as session, session.begin():
        for message in messages:
            await add_to_outbox(session, world.outbox, message)


async def _rows(world: Any, packet_id: uuid.UUID) -> list[Any]:
    o = world.outbox.c
    async with world.sessions() as session:
        return list(await session.execute(select(world.outbox).where(o.packet_id == packet_id).order_by(o.id)))


async def _queue_count(url: str, name: str) -> int:
    connection = await aio_pika.connect(url)
    try:
        queue = await (await connection.channel()).declare_queue(name, passive=True)
        return int(queue.declaration_result.message_count or 0)
    finally:
        await connection.close()


def _relay(world: Any, publisher: Publisher, max_attempts: int = 8) -> OutboxRelay:
    return OutboxRelay("bustest", world.sessions, world.outbox, publisher, max_attempts=max_attempts)


async def test_an_unroutable_command_stays_unsent_and_one_poison_row_holds_back_only_its_own_packet(world) -> None:
    publisher = Publisher(world.infra.amqp_url_for("validation"), "bustest")
    relay = _relay(world, publisher, max_attempts=1)
    poisoned, after = uuid.uuid4(), uuid.uuid4()
    # Nobody consumes intake's commands in this vhost: the broker returns it (mandatory).
    command = m.RevalidatePacket(packet_id=poisoned, producer="validation", requested_by="u1", reason="re-run")
    behind = m.PacketValidated(packet_id=poisoned, producer="validation", run=1, outcome="passed")
    others = [
        m.PacketValidated(packet_id=uuid.uuid4(), producer="validation", run=1, outcome="passed") for _ in range(100)
    ]
    await _stage(world, command, behind, *others)
    await _stage(world, m.PacketValidated(packet_id=after, producer="validation", run=1, outcome="passed"))
    try:
        published = await relay.publish_pending()
    finally:
        await publisher.close()
    assert published == 101  # the hundred other packets and the one staged after: nothing waited for the poison
    rows = await _rows(world, poisoned)
    assert [r.published_at is None for r in rows] == [True, True]  # the command and the row behind it
    assert rows[0].attempts == 1 and "unroutable" in rows[0].last_error and rows[0].parked_at is not None
    assert (await _rows(world, after))[0].published_at is not None


async def test_an_event_nobody_subscribes_to_lands_in_wiser_unrouted(world) -> None:
    before = await _queue_count(world.infra.amqp_url, topology.UNROUTED_QUEUE.name)
    publisher = Publisher(world.infra.amqp_url_for("clinical"), "bustest")
    pid = uuid.uuid4()
    await _stage(world, m.ReviewAssigned(packet_id=pid, producer="clinical", reviewer_id="n1"))
    try:
        await _relay(world, publisher).publish_pending()
    finally:
        await publisher.close()
    assert (await _rows(world, pid))[0].published_at is not None
    assert await _queue_count(world.infra.amqp_url, topology.UNROUTED_QUEUE.name) == before + 1


async def test_a_message_for_a_consumer_that_never_started_waits_for_it(world) -> None:
    probe = topology.Consumer(
        f"late{uuid.uuid4().hex[:6]}", (topology.Interest("on_validated", m.PacketValidated),), partitions=2
    )
    await declare_topology(world.infra.amqp_url, [probe], quorum=False)  # what `migrate` does at deploy time
    message = m.PacketValidated(packet_id=uuid.uuid4(), producer="validation", run=1, outcome="passed")
    publisher = Publisher(world.infra.amqp_url_for("validation"), "bustest")
    await publisher.publish_message(message)
    await publisher.close()
    got: list[m.Message] = []

    async def handle(msg: m.Message) -> None:
        got.append(msg)

    consumer = PartitionedConsumer(probe, {m.PacketValidated.TYPE: handle}, world.infra.amqp_url)
    for p in range(probe.partitions):
        await consumer.acquire(p)
    try:
        await eventually(lambda: asyncio.sleep(0, got))
    finally:
        await consumer.stop()
    assert [g.message_id for g in got] == [message.message_id]


async def _consume(world: Any, handlers: dict[str, Any], messages: list[tuple[str, m.Message]], **kw: Any) -> Any:
    """Declare a fresh one-partition consumer, publish `messages` as (service, message), run until handled."""
    probe = topology.Consumer(
        f"order{uuid.uuid4().hex[:6]}",
        tuple(topology.Interest(f"h{i}", cls) for i, cls in enumerate({type(msg) for _, msg in messages})),
        partitions=1,
    )
    await declare_topology(world.infra.amqp_url, [probe], quorum=False)
    publishers = {
        s: Publisher(world.infra.amqp_url if s == "admin" else world.infra.amqp_url_for(s), "bustest")
        for s, _ in messages
    }
    for service, message in messages:
        await publishers[service].publish_message(message)
    for p in publishers.values():
        await p.close()
    consumer = PartitionedConsumer(probe, handlers, world.infra.amqp_url, **kw)
    await consumer.acquire(0)
    return consumer


async def test_a_failing_message_delays_its_packets_later_messages_but_not_other_packets(world) -> None:
    slow, other = uuid.uuid4(), uuid.uuid4()
    first = m.ReviewAssigned(packet_id=slow, producer="clinical", reviewer_id="first")
    second = m.ReviewReleased(packet_id=slow, producer="clinical", reviewer_id="second")
    elsewhere = m.ReviewAssigned(packet_id=other, producer="clinical", reviewer_id="elsewhere")
    seen: list[str] = []
    failures = {"first": 2}

    async def handle(msg: Any) -> None:
        if failures.get(msg.reviewer_id):
            failures[msg.reviewer_id] -= 1
            raise RuntimeError("transient")
        seen.append(msg.reviewer_id)

    handlers = {m.ReviewAssigned.TYPE: handle, m.ReviewReleased.TYPE: handle}
    consumer = await _consume(
        world,
        handlers,
        [("clinical", first), ("clinical", second), ("clinical", elsewhere)],
        retry_delays=(0.3, 0.3),
    )
    try:
        await eventually(lambda: asyncio.sleep(0, len(seen) == 3))
    finally:
        await consumer.stop()
    assert seen.index("first") < seen.index("second")
    assert seen[0] == "elsewhere"  # the other packet did not wait for the retries


async def test_an_early_message_waits_aside_while_another_producer_makes_it_legal(world) -> None:
    pid = uuid.uuid4()
    letter = uuid.uuid4()
    early = m.LetterApproved(packet_id=pid, producer="letters", letter_id=letter, approved_by="u1")
    same_producer_later = m.LetterRejected(
        packet_id=pid, producer="letters", letter_id=letter, rejected_by="u", reason="r"
    )
    enabling = m.ReviewAssigned(packet_id=pid, producer="clinical", reviewer_id="n1")
    applied: list[str] = []

    async def handle(msg: Any) -> None:
        if isinstance(msg, m.LetterApproved) and "assigned" not in applied:
            raise Defer("not yet")
        applied.append(
            {m.LetterApproved: "approved", m.LetterRejected: "rejected", m.ReviewAssigned: "assigned"}[type(msg)]
        )

    handlers = {cls.TYPE: handle for cls in (m.LetterApproved, m.LetterRejected, m.ReviewAssigned)}
    consumer = await _consume(
        world, handlers, [("letters", early), ("letters", same_producer_later), ("clinical", enabling)]
    )
    try:
        await eventually(lambda: asyncio.sleep(0, len(applied) == 3))
    finally:
        await consumer.stop()
    # Clinical's event went past the waiting one; letters' own later event stayed behind it.
    assert applied == ["assigned", "approved", "rejected"]


async def test_a_message_from_a_service_that_does_not_own_it_is_parked(world) -> None:
    pid = uuid.uuid4()
    handled: list[m.Message] = []

    async def handle(msg: m.Message) -> None:
        handled.append(msg)

    forged = m.PacketValidated(packet_id=pid, producer="validation", run=1, outcome="passed")
    genuine = m.PacketValidated(packet_id=pid, producer="validation", run=2, outcome="passed")
    consumer = await _consume(
        world,
        {m.PacketValidated.TYPE: handle},
        [("admin", forged), ("validation", genuine)],  # the broker would refuse it from any other service
        producer_user=lambda service: f"wiser-{service}",
    )
    try:
        await eventually(lambda: asyncio.sleep(0, handled))
        await asyncio.sleep(0.3)
    finally:
        await consumer.stop()
    assert [h.message_id for h in handled] == [genuine.message_id]
    assert await _queue_count(world.infra.amqp_url, consumer.consumer.dlq_name) == 1


async def test_partitions_spread_over_live_replicas_and_a_dead_ones_move_on(world) -> None:
    probe = topology.Consumer(
        f"lease{uuid.uuid4().hex[:6]}", (topology.Interest("h", m.PacketValidated),), partitions=4
    )
    await declare_topology(world.infra.amqp_url, [probe], quorum=False)
    async with world.sessions() as session, session.begin():
        await session.execute(world.leases.delete())
        await session.execute(world.replicas.delete())

    async def nothing(_: m.Message) -> None:
        return None

    def replica(name: str) -> PartitionLeases:
        consumer = PartitionedConsumer(probe, {m.PacketValidated.TYPE: nothing}, world.infra.amqp_url)
        return PartitionLeases(consumer, world.sessions, world.leases, world.replicas, ttl=1.5, replica_id=name)

    a, b = replica("a"), replica("b")
    await a.rebalance()
    assert a.consumer.held == {0, 1, 2, 3}
    await b.rebalance()  # b is live now; a gives up its share on its next round, then b takes it
    await a.rebalance()
    await b.rebalance()
    assert a.consumer.held == {0, 2} and b.consumer.held == {1, 3}
    await a.consumer.stop()  # a dies: no more heartbeats, its leases run out
    await asyncio.sleep(1.7)
    await b.rebalance()
    assert b.consumer.held == {0, 1, 2, 3}
    await b.stop()


async def test_a_message_queued_behind_an_early_one_may_itself_be_early(world) -> None:
    pid = uuid.uuid4()
    letter = uuid.uuid4()
    drafted = m.LetterDrafted(packet_id=pid, producer="letters", letter_id=letter, kind="affirmation")
    approved = m.LetterApproved(packet_id=pid, producer="letters", letter_id=letter, approved_by="u1")
    assigned = m.ReviewAssigned(packet_id=pid, producer="clinical", reviewer_id="n1")
    released = m.ReviewReleased(packet_id=pid, producer="clinical", reviewer_id="n1")
    applied: list[str] = []
    needs = {"drafted": "assigned", "approved": "released"}

    async def handle(msg: Any) -> None:
        name = {m.LetterDrafted: "drafted", m.LetterApproved: "approved"}.get(type(msg)) or (
            "assigned" if isinstance(msg, m.ReviewAssigned) else "released"
        )
        if name in needs and needs[name] not in applied:
            raise Defer("not yet")
        applied.append(name)

    handlers = {cls.TYPE: handle for cls in (m.LetterDrafted, m.LetterApproved, m.ReviewAssigned, m.ReviewReleased)}
    consumer = await _consume(
        world,
        handlers,
        [("letters", drafted), ("letters", approved), ("clinical", assigned), ("clinical", released)],
    )
    try:
        await eventually(lambda: asyncio.sleep(0, len(applied) == 4))
    finally:
        await consumer.stop()
    assert applied.index("drafted") < applied.index("approved")
    assert applied.index("assigned") < applied.index("drafted") and applied.index("released") < applied.index(
        "approved"
    )


async def test_a_partition_whose_window_fills_with_early_messages_parks_one_instead_of_stalling(world) -> None:
    packets = [uuid.uuid4() for _ in range(3)]
    early = [
        ("letters", m.LetterApproved(packet_id=p, producer="letters", letter_id=uuid.uuid4(), approved_by="u"))
        for p in packets
    ]
    enablers = [("clinical", m.ReviewAssigned(packet_id=p, producer="clinical", reviewer_id="n")) for p in packets]
    assigned: set[uuid.UUID] = set()
    approved: list[uuid.UUID] = []

    async def handle(msg: Any) -> None:
        if isinstance(msg, m.ReviewAssigned):
            assigned.add(msg.packet_id)
        elif msg.packet_id not in assigned:
            raise Defer("not yet")
        else:
            approved.append(msg.packet_id)

    handlers = {m.LetterApproved.TYPE: handle, m.ReviewAssigned.TYPE: handle}
    consumer = await _consume(world, handlers, [*early, *enablers], prefetch=3)
    try:
        await eventually(lambda: asyncio.sleep(0, len(assigned) == 3 and len(approved) == 2), timeout=15)
    finally:
        await consumer.stop()
    assert await _queue_count(world.infra.amqp_url, consumer.consumer.dlq_name) == 1


async def test_a_parked_outbox_row_is_listed_and_published_once_replayed_after_the_cause_is_fixed(world) -> None:
    from wiser_servicekit.outbox import parked_rows, replay_parked_rows

    publisher = Publisher(world.infra.amqp_url_for("validation"), "bustest")
    relay = _relay(world, publisher, max_attempts=1)
    pid = uuid.uuid4()
    command = m.RevalidatePacket(packet_id=pid, producer="validation", requested_by="u1", reason="parked then fixed")
    await _stage(world, command)
    try:
        await relay.publish_pending()  # nobody consumes it yet: returned, and parked after its one attempt
        assert command.message_id in [r["message_id"] for r in await parked_rows(world.sessions, world.outbox)]
        connection = await aio_pika.connect(world.infra.amqp_url)
        try:  # the cause is fixed: a queue now takes intake's commands
            channel = await connection.channel()
            queue = await channel.declare_queue(f"bustest.fixed.{pid.hex[:8]}", auto_delete=True)
            await queue.bind(topology.exchange_for(m.RevalidatePacket).name, command.routing_key())
            assert await replay_parked_rows(world.sessions, world.outbox) >= 1
            await relay.publish_pending()
            (row,) = await _rows(world, pid)
            assert row.published_at is not None and row.parked_at is None

            async def mine() -> bool | None:  # other tests' parked rows were replayed too: find this one
                got = await queue.get(fail=False)
                if got is None:
                    return None
                return m.RevalidatePacket.model_validate_json(got.body).message_id == command.message_id or None

            assert await eventually(mine, 10)
        finally:
            await connection.close()
    finally:
        await publisher.close()


async def test_a_handler_that_keeps_raising_parks_its_message_and_the_listing_shows_why_without_phi(world) -> None:
    from datetime import UTC, datetime

    from wiser_servicekit.bus import replay_parked
    from wiser_servicekit.consumer import ParkLog, parked_table
    from wiser_servicekit.parked import peek, with_errors

    park_log = ParkLog(world.sessions, parked_table(world.leases.metadata))
    message = m.ReviewAssigned(packet_id=uuid.uuid4(), producer="clinical", reviewer_id="n1")
    calls: list[str] = []

    async def handle(msg: Any) -> None:
        calls.append(msg.reviewer_id)
        raise ValueError("beneficiary Jane Q Synthetic, MBI 1EG4-TE5-MK73")  # the text may hold values

    consumer = await _consume(
        world, {m.ReviewAssigned.TYPE: handle}, [("clinical", message)], retry_delays=(0.05,), park_log=park_log
    )
    dlq = consumer.consumer.dlq_name
    try:
        await eventually(lambda: _queue_count(world.infra.amqp_url, dlq))
    finally:
        await consumer.stop()
    assert len(calls) == 2

    listing = await with_errors(await peek(world.infra.amqp_url, dlq), park_log)
    assert listing["count"] == 1
    [parked] = listing["messages"]
    assert parked["message_id"] == str(message.message_id)
    assert parked["error_type"] == "ValueError"
    assert parked["error"] == "ValueError in h0 after 2 attempts"
    assert parked["parked_at"] and datetime.fromisoformat(parked["parked_at"]) <= datetime.now(UTC)
    assert "Jane" not in repr(listing) and "1EG4" not in repr(listing)
    assert await _queue_count(world.infra.amqp_url, dlq) == 1  # reading put it back

    started = datetime.now(UTC)
    assert await replay_parked(world.infra.amqp_url, consumer.consumer) == 1
    assert await park_log.clear(dlq, before=started) == 1
    assert await park_log.errors([str(message.message_id)]) == {}
