"""Clinical's changes in place against in-memory ports: reassigned and reclassified bump the version, write one
history row and intake's own event, never change the state; early ones wait; the queue can be re-announced."""

from __future__ import annotations

from datetime import timedelta

from wiser_contracts import messages as m
from wiser_intake.entrypoints.messaging import trigger_for
from wiser_intake.usecases.transitions import (
    Applied,
    Duplicate,
    Early,
    Ignored,
    apply_bus_trigger,
    change_in_place,
    reannounce,
)

from .fakes import world
from .test_commands import submitted

KEY = "intake.test"


async def queued(w, review_type: str = "standard"):  # type: ignore[no-untyped-def]
    pid = await submitted(w)
    w.db.packet(pid)["review_type"] = review_type
    passed = m.PacketValidated(packet_id=pid, producer="validation", run=1, outcome=m.ValidationOutcome.PASSED)
    await apply_bus_trigger(w.ctx.uow, "intake.validated", passed, trigger_for(passed))
    return pid


async def test_refused_urgency_makes_the_packet_standard_due_three_days_after_receipt() -> None:
    w = world()
    pid = await queued(w, "expedited")
    before = dict(w.db.packet(pid))
    refused = m.ReviewReclassified(packet_id=pid, producer="clinical", reviewer_id="nurse-1", reason="no risk")
    assert isinstance(await change_in_place(w.ctx.uow, KEY, refused), Applied)
    assert isinstance(await change_in_place(w.ctx.uow, KEY, refused), Duplicate)
    after = w.db.packet(pid)
    assert after["state"] == "clinical_queue" and after["version"] == before["version"] + 1
    assert after["review_type"] == "standard" and after["due_at"] == after["received_at"] + timedelta(days=3)
    rows = [t for t in w.db.tables.transitions if t["transition"] == "RECLASS"]
    assert len(rows) == 1 and rows[0]["from_state"] == rows[0]["to_state"] == "clinical_queue"
    events = [e for e in w.db.tables.outbox if isinstance(e, m.PacketReclassified)]
    assert len(events) == 1 and events[0].due_at == after["due_at"]
    again = m.ReviewReclassified(packet_id=pid, producer="clinical", reviewer_id="nurse-1", reason="twice")
    assert isinstance(await change_in_place(w.ctx.uow, KEY, again), Ignored)


async def test_a_reassignment_waits_for_review_then_is_recorded() -> None:
    w = world()
    pid = await queued(w)
    moved = m.ReviewReassigned(packet_id=pid, producer="clinical", to_reviewer_id="nurse-2", reassigned_by="sup-1")
    assert isinstance(await change_in_place(w.ctx.uow, KEY, moved), Early)  # not in review yet
    assigned = m.ReviewAssigned(packet_id=pid, producer="clinical", reviewer_id="nurse-1")
    await apply_bus_trigger(w.ctx.uow, "intake.assigned", assigned, trigger_for(assigned))
    assert isinstance(await change_in_place(w.ctx.uow, KEY, moved), Applied)
    row = next(t for t in w.db.tables.transitions if t["transition"] == "REASSIGN")
    assert (row["actor_id"], row["from_state"]) == ("sup-1", "clinical_review")
    assert [e.reviewer_id for e in w.db.tables.outbox if isinstance(e, m.PacketReassigned)] == ["nurse-2"]


async def test_reannouncing_the_queue_publishes_each_packets_transition_again() -> None:
    w = world()
    first, second = await queued(w), await queued(w)
    original = {
        e.packet_id: e for e in w.db.tables.outbox if isinstance(e, m.PacketTransitioned) and e.transition == "T2"
    }
    assert await reannounce(w.ctx.uow, m.PacketState.CLINICAL_QUEUE) == 2
    again = [e for e in w.db.tables.outbox if isinstance(e, m.PacketTransitioned) and e.transition == "T2"]
    assert len(again) == 4
    for e in again[2:]:
        assert e.message_id != original[e.packet_id].message_id
        assert (e.version, e.to_state) == (original[e.packet_id].version, m.PacketState.CLINICAL_QUEUE)
    assert {e.packet_id for e in again[2:]} == {first, second}
