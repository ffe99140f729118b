"""Triggers from the bus against in-memory ports: each message counts once per handler, and an early one is not
remembered, so its redelivery is handled once the packet gets there."""

from __future__ import annotations

from wiser_contracts import messages as m
from wiser_intake.entrypoints.messaging import trigger_for
from wiser_intake.usecases.transitions import Applied, Duplicate, Early, apply_bus_trigger

from .fakes import world
from .test_commands import submitted

KEY = "intake.test"


async def test_a_redelivered_outcome_moves_the_packet_once() -> None:
    w = world()
    pid = await submitted(w)
    passed = m.PacketValidated(packet_id=pid, producer="validation", run=1, outcome=m.ValidationOutcome.PASSED)
    assert isinstance(await apply_bus_trigger(w.ctx.uow, KEY, passed, trigger_for(passed)), Applied)
    assert isinstance(await apply_bus_trigger(w.ctx.uow, KEY, passed, trigger_for(passed)), Duplicate)
    assert [t["transition"] for t in w.db.tables.transitions] == ["T1", "T2"]
    assert w.db.packet(pid)["state"] == "clinical_queue"


async def test_an_early_assignment_is_not_remembered_and_applies_once_the_packet_is_queued() -> None:
    w = world()
    pid = await submitted(w)
    assigned = m.ReviewAssigned(packet_id=pid, producer="clinical", reviewer_id="nurse-1")
    assert isinstance(await apply_bus_trigger(w.ctx.uow, KEY, assigned, trigger_for(assigned)), Early)
    assert not w.db.tables.inbox and w.db.packet(pid)["state"] == "validating"
    passed = m.PacketValidated(packet_id=pid, producer="validation", run=1, outcome=m.ValidationOutcome.PASSED)
    await apply_bus_trigger(w.ctx.uow, "intake.validated", passed, trigger_for(passed))
    assert isinstance(await apply_bus_trigger(w.ctx.uow, KEY, assigned, trigger_for(assigned)), Applied)
    assert w.db.packet(pid)["state"] == "clinical_review"
