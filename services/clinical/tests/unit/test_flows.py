"""Clinical's use cases over in-memory fakes: assignment, review, decisions, urgency, withdrawal, UTN."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, timedelta

import pytest

from wiser_clinical.domain.decision import LineOutcome, Unmet, utn_well_formed
from wiser_clinical.domain.model import Licence, Reviewer, Status
from wiser_clinical.usecases import assignment, errors, queries, review
from wiser_clinical.usecases.utn import request_due_utns
from wiser_contracts import messages as m
from wiser_servicekit.identity import Identity

from .fakes import make_ctx

ALL = ("NJ", "OH", "OK", "TX", "AZ", "WA")
ESI = "epidural_steroid_injections"


def nurse(uid: str, capacity: int = 5, states: tuple[str, ...] = ALL, expires: date = date(2030, 1, 1)) -> Reviewer:
    return Reviewer(uid, "clinical_reviewer", capacity, tuple(Licence(s, expires) for s in states), frozenset({ESI}))


def md(uid: str, specialties: frozenset[str] = frozenset({"pain_medicine"})) -> Reviewer:
    return Reviewer(
        uid, "medical_director", 5, tuple(Licence(s, date(2030, 1, 1)) for s in ALL), frozenset({ESI}), specialties
    )


def who(uid: str, role: str) -> Identity:
    return Identity(uid, frozenset({role}))


def packet(intake, clock, state="NJ", review_type="standard", codes=("64483", "64484"), due_hours=72):  # type: ignore[no-untyped-def]
    pid = uuid.uuid4()
    intake.packets[pid] = {
        "packet_id": str(pid),
        "tracking_number": f"WSR-{pid.hex[:6]}",
        "state": "clinical_queue",
        "state_of_service": state,
        "review_type": review_type,
        "received_at": (clock() - timedelta(hours=1)).isoformat(),
        "due_at": (clock() + timedelta(hours=due_hours)).isoformat(),
        "services": [{"line_no": i + 1, "code": c, "units": 1} for i, c in enumerate(codes)],
        "documents": [],
    }
    return pid


def queued(pid: uuid.UUID, version: int = 4) -> m.PacketTransitioned:
    return m.PacketTransitioned(
        packet_id=pid, producer="intake", transition="T2", from_state=m.PacketState.VALIDATING,
        to_state=m.PacketState.CLINICAL_QUEUE, version=version, actor=m.Actor(type=m.ActorType.SYSTEM, id="intake"),
    )  # fmt: skip


def types(db) -> list[str]:  # type: ignore[no-untyped-def]
    return [msg.type for msg in db.outbox]


async def arrive(ctx, intake, clock, **kw):  # type: ignore[no-untyped-def]
    pid = packet(intake, clock, **kw)
    await assignment.case_queued(ctx, queued(pid), "clinical.on_packet_transitioned")
    return pid


def all_met(ctx, pid):  # type: ignore[no-untyped-def]
    checklist = ctx.checklists.services[ESI]
    return [
        {"criterion_id": c.id, "answer": "met", "evidence": [{"page": 1, "quote": "documented"}]}
        for c in checklist.criteria
    ]


async def test_a_case_goes_to_the_least_loaded_licensed_nurse_and_is_affirmed_with_one_utn() -> None:
    ctx, db, intake, mac, clock = make_ctx()
    db.reviewers = {"a": nurse("a"), "b": nurse("b", states=("OH",)), "c": nurse("c")}
    first = await arrive(ctx, intake, clock)
    second = await arrive(ctx, intake, clock)
    holders = {a["packet_id"]: a["reviewer_id"] for a in db.assignments if a["active"]}
    assert holders == {first: "a", second: "c"}  # b has no NJ licence; a and c share the load
    assert types(db).count("clinical.review.assigned") == 2

    with pytest.raises(errors.Invalid):
        await review.affirm(ctx, who("a", "clinical_reviewer"), first, None)  # nothing answered yet
    await review.answer(ctx, who("a", "clinical_reviewer"), first, all_met(ctx, first))
    decided = await review.affirm(ctx, who("a", "clinical_reviewer"), first, "all criteria met")
    assert decided.outcome == m.Outcome.AFFIRMED
    assert db.cases[first].status == Status.DETERMINED
    assert await assignment.assign_waiting(ctx) == 0

    mac.down = True
    assert await request_due_utns(ctx) == 0
    assert db.utn[first]["attempts"] == 1 and db.utn[first]["status"] == "pending"
    mac.down = False
    assert await request_due_utns(ctx) == 0  # not due yet: backoff
    clock.advance(seconds=5)
    assert await request_due_utns(ctx) == 1
    assert await request_due_utns(ctx) == 0
    utns = [msg for msg in db.outbox if isinstance(msg, m.UtnAssigned)]
    assert len(utns) == 1 and utn_well_formed(utns[0].utn)


async def test_expired_licence_capacity_and_unassignable() -> None:
    ctx, db, intake, _, clock = make_ctx()
    db.reviewers = {"old": nurse("old", expires=clock().date() - timedelta(days=1)), "one": nurse("one", capacity=1)}
    first = await arrive(ctx, intake, clock)
    second = await arrive(ctx, intake, clock)
    holders = {a["packet_id"]: a["reviewer_id"] for a in db.assignments if a["active"]}
    assert holders == {first: "one"}
    assert db.cases[second].status == Status.QUEUED


async def test_expedited_first_then_earliest_due() -> None:
    ctx, db, intake, _, clock = make_ctx()
    late = await arrive(ctx, intake, clock, due_hours=70)
    early = await arrive(ctx, intake, clock, due_hours=20)
    urgent = await arrive(ctx, intake, clock, review_type="expedited", due_hours=48)
    db.reviewers = {"n": nurse("n", capacity=3)}
    await assignment.assign_waiting(ctx)
    order = [msg.packet_id for msg in db.outbox if isinstance(msg, m.ReviewAssigned)]
    assert order == [urgent, early, late]


async def test_nurse_escalates_md_needs_reasons_and_decides_per_line() -> None:
    ctx, db, intake, _, clock = make_ctx()
    db.reviewers = {"n": nurse("n"), "derm": md("derm", frozenset({"dermatology"})), "pain": md("pain")}
    pid = await arrive(ctx, intake, clock)
    n = who("n", "clinical_reviewer")
    answers = all_met(ctx, pid)
    answers[1] = {"criterion_id": answers[1]["criterion_id"], "answer": "not_met", "note": "5th session"}
    await review.answer(ctx, n, pid, answers)
    with pytest.raises(errors.Forbidden):
        await review.decide(ctx, n, pid, [LineOutcome("64483", m.Outcome.NON_AFFIRMED)], None)
    await review.escalate(ctx, n, pid, m.Outcome.PARTIALLY_AFFIRMED, "too many sessions for the second level")
    held = [a for a in db.assignments if a["active"]]
    assert [a["reviewer_id"] for a in held] == ["pain"]  # the dermatologist has no relevant specialty
    d = who("pain", "medical_director")
    unmet = ctx.checklists.services[ESI].criteria[1].id
    no_reason = [
        LineOutcome("64483", m.Outcome.AFFIRMED),
        LineOutcome("64484", m.Outcome.NON_AFFIRMED, (Unmet(unmet, " "),)),
    ]
    with pytest.raises(errors.Invalid) as refused:
        await review.decide(ctx, d, pid, no_reason, None)
    assert refused.value.errors
    good = [
        LineOutcome("64483", m.Outcome.AFFIRMED),
        LineOutcome("64484", m.Outcome.NON_AFFIRMED, (Unmet(unmet, "5 sessions in 12 months"),)),
    ]
    decided = await review.decide(ctx, d, pid, good, "second level not supported")
    assert decided.outcome == m.Outcome.PARTIALLY_AFFIRMED
    recorded = next(msg for msg in db.outbox if isinstance(msg, m.DeterminationRecorded))
    assert recorded.decided_by_role == "medical_director"
    assert recorded.lines[1].reasons and "5 sessions" in recorded.lines[1].reasons[0]


async def test_refused_urgency_reclassifies_to_standard() -> None:
    ctx, db, intake, _, clock = make_ctx()
    db.reviewers = {"n": nurse("n")}
    pid = await arrive(ctx, intake, clock, review_type="expedited", due_hours=47)
    case = await review.urgency(ctx, who("n", "clinical_reviewer"), pid, False, "no risk to life or function")
    assert case.review_type == "standard" and case.due_at == case.received_at + timedelta(days=3)
    assert "clinical.review.reclassified" in types(db)


async def test_two_reviewers_take_one_case_one_wins_and_withdrawal_frees_capacity() -> None:
    ctx, db, intake, _, clock = make_ctx()
    pid = await arrive(ctx, intake, clock)  # nobody has a profile yet: stays queued
    db.reviewers = {"a": nurse("a", capacity=1), "b": nurse("b", capacity=1)}
    await assignment.take(ctx, who("a", "clinical_reviewer"), pid)
    with pytest.raises(errors.NotAllowed):
        await assignment.take(ctx, who("b", "clinical_reviewer"), pid)
    closed = m.PacketTransitioned(
        packet_id=pid, producer="intake", transition="T19", from_state=m.PacketState.CLINICAL_REVIEW,
        to_state=m.PacketState.CLOSED, version=7, actor=m.Actor(type=m.ActorType.SYSTEM, id="intake"),
        closure_reason="withdrawn",
    )  # fmt: skip
    other = packet(intake, clock)
    await assignment.case_queued(ctx, queued(other), "h")
    assert [a["reviewer_id"] for a in db.assignments if a["active"] and a["packet_id"] == other] == ["b"]
    third = await arrive(ctx, intake, clock)
    assert db.cases[third].status == Status.QUEUED  # both at capacity
    await assignment.case_closed(ctx, closed, "h")
    assert db.cases[pid].status == Status.CLOSED
    assert [a["reviewer_id"] for a in db.assignments if a["active"] and a["packet_id"] == third] == ["a"]


async def test_a_duplicate_or_reannounced_transition_opens_one_case() -> None:
    ctx, db, intake, _, clock = make_ctx()
    db.reviewers = {"n": nurse("n")}
    pid = packet(intake, clock)
    msg = queued(pid)
    await assignment.case_queued(ctx, msg, "h")
    await assignment.case_queued(ctx, msg, "h")
    again = msg.model_copy(update={"message_id": uuid.uuid4()})
    await assignment.case_queued(ctx, again, "h")
    assert len(db.cases) == 1 and types(db).count("clinical.review.assigned") == 1


async def test_supervisor_reassigns_and_md_returns() -> None:
    ctx, db, intake, _, clock = make_ctx()
    db.reviewers = {"a": nurse("a"), "b": nurse("b"), "pain": md("pain")}
    pid = await arrive(ctx, intake, clock)
    holder = next(a["reviewer_id"] for a in db.assignments if a["active"])
    other = "b" if holder == "a" else "a"
    await assignment.assign_to(ctx, who("sup", "supervisor"), pid, other, "balance")
    moved = [msg for msg in db.outbox if isinstance(msg, m.ReviewReassigned)]
    assert moved[-1].from_reviewer_id == holder and moved[-1].to_reviewer_id == other
    await review.escalate(ctx, who(other, "clinical_reviewer"), pid, m.Outcome.NON_AFFIRMED, "unclear")
    await review.return_to_nurse(ctx, who("pain", "medical_director"), pid, "check the PT notes")
    assert db.cases[pid].status == Status.IN_REVIEW
    assert [a["reviewer_id"] for a in db.assignments if a["active"]] == [other]


async def test_a_reviewer_who_pulls_work_takes_the_next_case_in_queue_order() -> None:
    ctx, db, intake, _, clock = make_ctx()
    puller = Reviewer("p", "clinical_reviewer", 2, tuple(Licence(s, date(2030, 1, 1)) for s in ALL), frozenset({ESI}))
    db.reviewers = {"p": replace(puller, auto_assign=False)}
    late = await arrive(ctx, intake, clock, due_hours=60)
    soon = await arrive(ctx, intake, clock, due_hours=10)
    assert not [a for a in db.assignments if a["active"]]  # the system gives them nothing
    first = await assignment.take_next(ctx, who("p", "clinical_reviewer"))
    second = await assignment.take_next(ctx, who("p", "clinical_reviewer"))
    assert first is not None and second is not None
    assert (first.packet_id, second.packet_id) == (soon, late)
    third = await arrive(ctx, intake, clock)
    with pytest.raises(errors.NotAllowed):  # at capacity
        await assignment.take_next(ctx, who("p", "clinical_reviewer"))
    assert db.cases[third].status == Status.QUEUED


async def test_a_resubmission_shows_the_earlier_decision_and_documents() -> None:
    ctx, db, intake, _, clock = make_ctx()
    db.reviewers = {"n": nurse("n", capacity=5)}
    earlier = await arrive(ctx, intake, clock)
    n = who("n", "clinical_reviewer")
    await review.answer(ctx, n, earlier, all_met(ctx, earlier))
    await review.affirm(ctx, n, earlier, None)
    await request_due_utns(ctx)
    utn = db.utn[earlier]["utn"]
    intake.packets[earlier]["documents"] = [{"document_id": str(uuid.uuid4()), "filename": "old.pdf"}]
    pid = packet(intake, clock)
    intake.packets[pid].update(submission_type="resubmission", previous_utn=utn)
    await assignment.case_queued(ctx, queued(pid), "h")
    detail = await queries.case_detail(ctx, n, pid)
    assert detail["previous"]["packet_id"] == str(earlier)
    assert detail["previous"]["determination"]["outcome"] == "affirmed"
    assert [d["filename"] for d in detail["previous"]["documents"]] == ["old.pdf"]
    assert (n.user_id, pid, "packet") in db.reads  # every read of intake's data is recorded


async def test_a_medical_director_who_takes_a_nurse_case_escalates_before_deciding() -> None:
    ctx, db, intake, _, clock = make_ctx()
    db.reviewers = {"pain": md("pain")}
    pid = await arrive(ctx, intake, clock)
    assert db.cases[pid].status == Status.QUEUED  # the system gives nurse-stage cases to nurses only
    d = who("pain", "medical_director")
    await assignment.take(ctx, d, pid)
    await review.answer(ctx, d, pid, all_met(ctx, pid))
    with pytest.raises(errors.NotAllowed):
        await review.affirm(ctx, d, pid, None)  # T9 is a nurse's affirmation
    await review.escalate(ctx, d, pid, m.Outcome.AFFIRMED, "all met")
    assert [a["reviewer_id"] for a in db.assignments if a["active"]] == ["pain"]
    lines = [LineOutcome(c, m.Outcome.AFFIRMED) for c in ("64483", "64484")]
    assert (await review.decide(ctx, d, pid, lines, None)).outcome == m.Outcome.AFFIRMED


async def test_the_queue_shows_time_left_at_risk_unassignable_and_load() -> None:
    ctx, db, intake, _, clock = make_ctx()
    db.reviewers = {"nj": nurse("nj", capacity=1, states=("NJ",))}
    held = await arrive(ctx, intake, clock, due_hours=60)
    soon = await arrive(ctx, intake, clock, due_hours=5)  # waits: the only NJ nurse is at capacity
    texas = await arrive(ctx, intake, clock, state="TX", due_hours=50)  # nobody licensed in TX
    out = await queries.queue(ctx)
    rows = {r["packet_id"]: r for r in out["cases"]}
    assert [r["packet_id"] for r in out["cases"]] == [str(soon), str(texas), str(held)]  # by time left
    assert rows[str(soon)]["at_risk"] and not rows[str(held)]["at_risk"]
    assert rows[str(held)]["assigned_to"] == "nj" and rows[str(soon)]["assigned_to"] is None
    assert rows[str(texas)]["unassignable"] and not rows[str(soon)]["unassignable"]
    assert out["reviewers"] == [
        {"user_id": "nj", "display_name": "", "role": "clinical_reviewer", "active": True, "load": 1, "capacity": 1}
    ]
    assert out["counts"]["unassignable"] == 1 and out["counts"]["at_risk"] == 1
    only = await queries.queue(ctx, unassignable=True)
    assert [r["packet_id"] for r in only["cases"]] == [str(texas)] and only["total"] == 1
    # A page at a time (a backlog of thousands is not one page); the counts still cover every open case.
    second = await queries.queue(ctx, offset=1, limit=1)
    assert [r["packet_id"] for r in second["cases"]] == [str(texas)] and second["total"] == 3
    assert second["counts"]["open"] == 3 and (second["offset"], second["limit"]) == (1, 1)
