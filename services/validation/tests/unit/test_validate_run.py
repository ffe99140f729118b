"""One validation run (usecases/validate.py) against in-memory ports: the outcome it reports, what it records,
and how it treats an unreachable peer, a duplicate request, a redelivery and a stale run."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from wiser_contracts import messages as m
from wiser_validation.domain import Eligibility, Enrollment, NpiRecord
from wiser_validation.usecases.validate import validate_packet

from .conftest import TODAY
from .fakes import World, world

HANDLER = "validation.transitions"


def transition(pid: uuid.UUID, run: int = 1) -> m.PacketTransitioned:
    return m.PacketTransitioned(
        packet_id=pid,
        producer="intake",
        transition="T1",
        from_state=m.PacketState.RECEIVED,
        to_state=m.PacketState.VALIDATING,
        version=2,
        actor=m.Actor(type=m.ActorType.SYSTEM, id="intake"),
        validation_run=run,
    )


def ready(
    packet_json: Callable[..., dict[str, Any]],
    eligible: Eligibility,
    active_npis: dict[str, NpiRecord],
    enrolled: Enrollment,
) -> World:
    """A world whose peers agree with the clean packet."""
    w = world(TODAY)
    mbi = packet_json()["beneficiary"]["mbi"]
    w.peers.hets.answers[mbi] = eligible
    w.peers.nppes.records.update(active_npis)
    w.peers.pecos.records[enrolled.npi] = enrolled
    return w


def hold(w: World, packet_json: Callable[..., dict[str, Any]], received_at: str = "2026-05-01T14:30:00Z") -> uuid.UUID:
    pid = uuid.uuid4()
    w.intake.packets[pid] = {
        **packet_json(packet_id=str(pid), received_at=received_at),
        "state": "validating",
        "state_of_service": "NJ",
        "validation_run": 1,
    }
    return pid


async def test_a_clean_packet_passes_on_to_the_clinical_queue(packet_json, eligible, active_npis, enrolled) -> None:
    w = ready(packet_json, eligible, active_npis, enrolled)
    pid = hold(w, packet_json)
    trigger = transition(pid)
    assert await validate_packet(w.v, pid, 1, trigger, HANDLER) == "passed"
    (sent,) = w.db.emitted()
    assert isinstance(sent, m.PacketValidated)
    assert (sent.outcome, sent.run, sent.findings, sent.causation_id) == (
        m.ValidationOutcome.PASSED,  # intake moves the packet to clinical_queue on it (T2)
        1,
        (),
        trigger.message_id,
    )
    (run,) = w.db.tables.runs
    assert run["peers"] == {"hets": "found", "nppes": {n: "active" for n in active_npis}, "pecos": "enrolled"}
    assert w.db.tables.seen[pid]["open"]


async def test_a_second_open_request_for_the_same_service_is_dismissed_with_the_reference_texts(
    packet_json, eligible, active_npis, enrolled
) -> None:
    w = ready(packet_json, eligible, active_npis, enrolled)
    first = hold(w, packet_json, "2026-05-01T14:30:00Z")
    second = hold(w, packet_json, "2026-05-01T15:00:00Z")
    assert await validate_packet(w.v, first, 1, transition(first), HANDLER) == "passed"
    assert await validate_packet(w.v, second, 1, transition(second), HANDLER) == "dismiss"
    sent = w.db.emitted()[-1]
    assert isinstance(sent, m.PacketValidated) and sent.outcome == m.ValidationOutcome.DISMISS
    (reason,) = sent.dismissal_reasons
    assert reason.code == "DUPLICATE_REQUEST"
    assert (reason.reason, reason.corrective_action) == (
        "Same provider, beneficiary and service with an open request",
        "Wait for the open request",
    )


async def test_an_unreachable_peer_needs_correction_and_the_run_says_which(
    packet_json, eligible, active_npis, enrolled
) -> None:
    w = ready(packet_json, eligible, active_npis, enrolled)
    w.peers.hets.down = True
    pid = hold(w, packet_json)
    assert await validate_packet(w.v, pid, 1, transition(pid), HANDLER) == "needs_correction"
    (sent,) = w.db.emitted()
    assert isinstance(sent, m.PacketValidated)
    assert {f.code for f in sent.findings} == {"PEER_UNAVAILABLE"}
    assert w.db.tables.runs[0]["peers"]["hets"] == "unavailable"


async def test_a_redelivered_trigger_and_a_stale_run_record_nothing_more(
    packet_json, eligible, active_npis, enrolled
) -> None:
    w = ready(packet_json, eligible, active_npis, enrolled)
    pid = hold(w, packet_json)
    trigger = transition(pid)
    await validate_packet(w.v, pid, 1, trigger, HANDLER)
    assert await validate_packet(w.v, pid, 1, trigger, HANDLER) == "duplicate"
    w.intake.packets[pid]["validation_run"] = 2  # corrected since: run 1 is over
    assert await validate_packet(w.v, pid, 1, transition(pid), HANDLER) == "stale"
    assert len(w.db.tables.runs) == 1 and len(w.db.emitted()) == 1
