"""The UTN's change in place against in-memory ports: a history row, a version bump, `intake.packet.utn_recorded`;
the letter drafted before it waits; `determined` carries the lines it was decided with."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from wiser_contracts import messages as m
from wiser_intake.entrypoints.messaging import trigger_for
from wiser_intake.usecases.transitions import Applied, Duplicate, Early, apply_bus_trigger, assign_utn

from .fakes import world
from .test_commands import submitted

UTN = "JLA26000000077"


async def test_the_utn_is_a_change_in_place_and_a_draft_before_it_waits() -> None:
    w = world()
    pid = await submitted(w)
    lines = (m.LineDecision(code="64581", outcome="affirmed"),)
    for message in (
        m.PacketValidated(packet_id=pid, producer="validation", run=1, outcome=m.ValidationOutcome.PASSED),
        m.ReviewAssigned(packet_id=pid, producer="clinical", reviewer_id="nurse-1"),
        m.DeterminationRecorded(
            packet_id=pid,
            producer="clinical",
            outcome="affirmed",
            decided_by="nurse-1",
            decided_by_role="clinical_reviewer",
            decided_at=datetime.now(UTC),
            lines=lines,
        ),
    ):
        assert isinstance(await apply_bus_trigger(w.ctx.uow, message.type, message, trigger_for(message)), Applied)
    [determined] = [e for e in w.db.emitted(m.PacketTransitioned) if e.transition == "T9"]
    assert determined.lines == lines and determined.dismissal_codes == ()
    version = w.db.packet(pid)["version"]

    drafted = m.LetterDrafted(packet_id=pid, producer="letters", letter_id=uuid.uuid4(), kind="affirmation")
    assert isinstance(await apply_bus_trigger(w.ctx.uow, "drafted", drafted, trigger_for(drafted)), Early)

    assigned = m.UtnAssigned(packet_id=pid, producer="clinical", utn=UTN)
    assert isinstance(await assign_utn(w.ctx.uow, "utn", assigned), Applied)
    assert isinstance(await assign_utn(w.ctx.uow, "utn", assigned), Duplicate)
    packet = w.db.packet(pid)
    assert (packet["utn"], packet["version"]) == (UTN, version + 1)
    history = w.db.tables.transitions[-1]
    assert (history["transition"], history["from_state"], history["to_state"], history["version"]) == (
        "UTN",
        "determined",
        "determined",
        version + 1,
    )
    [recorded] = w.db.emitted(m.PacketUtnRecorded)
    assert (recorded.utn, recorded.version, recorded.causation_id) == (UTN, version + 1, assigned.message_id)

    assert isinstance(await apply_bus_trigger(w.ctx.uow, "drafted", drafted, trigger_for(drafted)), Applied)
    assert w.db.packet(pid)["state"] == "letter_review" and w.db.packet(pid)["version"] == version + 2


async def test_free_text_reasons_stay_in_history_and_out_of_events_even_when_re_announced() -> None:
    from wiser_intake.usecases.transitions import reannounce

    w = world()
    pid = await submitted(w)
    note = "nurse spoke with the patient's daughter"
    for message in (
        m.PacketValidated(packet_id=pid, producer="validation", run=1, outcome=m.ValidationOutcome.PASSED),
        m.ReviewAssigned(packet_id=pid, producer="clinical", reviewer_id="nurse-1"),
        m.ReviewReleased(packet_id=pid, producer="clinical", reviewer_id="nurse-1", reason=note),
    ):
        assert isinstance(await apply_bus_trigger(w.ctx.uow, message.type, message, trigger_for(message)), Applied)
    assert w.db.tables.transitions[-1]["reason"] == note  # history keeps it (encrypted at rest in SQL)
    assert await reannounce(w.ctx.uow, m.PacketState.CLINICAL_QUEUE) == 1
    released = [e for e in w.db.emitted(m.PacketTransitioned) if e.transition == "T8"]
    assert len(released) == 2 and all(e.reason is None for e in released)
    assert all(note not in e.model_dump_json() for e in w.db.emitted())
