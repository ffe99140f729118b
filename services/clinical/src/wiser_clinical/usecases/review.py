"""The review itself: the assigned reviewer answers the checklist, confirms or refuses urgency, affirms or
escalates; a medical director decides each line or returns the case. Each runs in one unit of work."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from wiser_contracts import messages as m
from wiser_contracts import roles
from wiser_servicekit.identity import Identity

from ..domain.checklist import Answer, AnswerRecord, Evidence, answer_problems
from ..domain.decision import (
    RECOMMENDATIONS,
    Decided,
    LineOutcome,
    md_decision,
    nurse_affirmation,
    reason_texts,
)
from ..domain.model import MD, NURSE, STANDARD_CLOCK, Assignment, Case, Stage, Status
from . import errors
from .assignment import PRODUCER, assign_waiting, checklist_of, held_by, open_case
from .ports import Clinical, UnitOfWork

log = logging.getLogger("wiser.clinical.review")


async def answer(ctx: Clinical, identity: Identity, packet_id: uuid.UUID, items: Sequence[dict[str, Any]]) -> None:
    """The assigned reviewer answers checklist items: met / not met / not documented, evidence, a note."""
    async with ctx.uow() as uow:
        case = await open_case(uow, packet_id)
        await held_by(uow, case, identity)
        checklist = checklist_of(ctx, case)
        records = [
            AnswerRecord(
                criterion_id=item["criterion_id"],
                answer=Answer(item["answer"]),
                evidence=tuple(
                    Evidence(
                        str(e["document_id"]) if e.get("document_id") else None, e.get("page"), e.get("quote") or ""
                    )
                    for e in item.get("evidence") or ()
                ),
                note=item.get("note") or "",
                answered_by=identity.user_id,
            )
            for item in items
        ]
        problems = [(r.criterion_id, p) for r in records for p in answer_problems(checklist, r)]
        if problems:
            raise errors.Invalid(
                "CHECKLIST_INVALID",
                "Some answers cannot be recorded.",
                errors=[{"field": f"checklist.{cid}", "message": p} for cid, p in problems],
            )
        at = ctx.now()
        for record in records:
            await uow.save_answer(packet_id, record, at)
        await uow.commit()


async def urgency(ctx: Clinical, identity: Identity, packet_id: uuid.UUID, confirmed: bool, reason: str) -> Case:
    """The reviewer confirms an expedited request's urgency, or refuses it: reclassified to standard."""
    async with ctx.uow() as uow:
        case = await open_case(uow, packet_id)
        if not case.expedited or case.urgency is not None:
            raise errors.NotAllowed("NOT_EXPEDITED", "Only an expedited request's urgency is confirmed, once.")
        if case.status not in (Status.QUEUED, Status.IN_REVIEW):
            raise errors.NotAllowed("NOT_IN_REVIEW", "Urgency is decided in the queue or in nurse review.")
        if roles.SUPERVISOR not in identity.roles:
            await held_by(uow, case, identity)
        at = ctx.now()
        if confirmed:
            case.urgency = "confirmed"
            await uow.add_note(packet_id, identity.user_id, "urgency", f"urgency confirmed: {reason}", at)
        else:
            case.urgency = "refused"
            case.review_type = "standard"
            case.due_at = case.received_at + STANDARD_CLOCK
            await uow.add_note(packet_id, identity.user_id, "urgency", f"urgency not confirmed: {reason}", at)
            await uow.emit(
                m.ReviewReclassified(
                    packet_id=packet_id,
                    producer=PRODUCER,
                    packet_version=case.packet_version,
                    reviewer_id=identity.user_id,
                    reason=reason,
                )
            )
        await uow.save_case(case)
        await uow.commit()
        return case


async def _determine(
    ctx: Clinical, uow: UnitOfWork, case: Case, decided: Decided, identity: Identity, role: str, rationale: str | None
) -> None:
    checklist = checklist_of(ctx, case)
    at = ctx.now()
    units = {line.code: line.units for line in case.lines}
    lines = [
        {
            "code": d.code,
            "units": units.get(d.code, 1),
            "outcome": d.outcome.value,
            "unmet": [{"criterion_id": u.criterion_id, "reason": u.reason.strip()} for u in d.unmet],
        }
        for d in decided.lines
    ]
    await uow.add_determination(
        case.packet_id,
        {
            "outcome": decided.outcome.value,
            "decided_by": identity.user_id,
            "decided_by_role": role,
            "decided_at": at,
            "rationale": rationale,
            "lines": lines,
            "checklist_version": checklist.version,
        },
    )
    await uow.end_assignment(case.packet_id, "determined", at)
    case.status = Status.DETERMINED
    await uow.save_case(case)
    await uow.add_utn_request(case.packet_id, case.state_of_service, decided.outcome.value, case.packet_version)
    await uow.emit(
        m.DeterminationRecorded(
            packet_id=case.packet_id,
            producer=PRODUCER,
            packet_version=case.packet_version,
            outcome=decided.outcome,
            decided_by=identity.user_id,
            decided_by_role=role,  # type: ignore[arg-type]
            decided_at=at,
            lines=tuple(
                m.LineDecision(code=d.code, outcome=d.outcome, reasons=reason_texts(d, checklist))
                for d in decided.lines
            ),
            rationale=rationale,
        )
    )


def _invalid(decided: Decided) -> errors.Invalid:
    return errors.Invalid(
        "DECISION_INCOMPLETE",
        "The decision is not complete: " + "; ".join(p.message for p in decided.problems[:3]) + ".",
        errors=[{"field": p.field, "message": p.message} for p in decided.problems],
    )


async def affirm(ctx: Clinical, identity: Identity, packet_id: uuid.UUID, rationale: str | None) -> Decided:
    """A nurse affirms every line (T9): every required criterion answered met."""
    async with ctx.uow() as uow:
        case = await open_case(uow, packet_id)
        if case.status != Status.IN_REVIEW:
            raise errors.NotAllowed("NOT_IN_REVIEW", "A nurse affirms a case in nurse review.")
        await held_by(uow, case, identity)
        profile = await uow.reviewer(identity.user_id)
        if profile is None or profile.role != NURSE:
            # T9 is a nurse's affirmation; a medical director decides after escalation (T11).
            raise errors.NotAllowed("ESCALATE_FIRST", "A medical director decides an escalated case: escalate it.")
        checklist = checklist_of(ctx, case)
        decided = nurse_affirmation(checklist, await uow.answers(packet_id), case.lines)
        if decided.problems:
            raise _invalid(decided)
        await _determine(ctx, uow, case, decided, identity, NURSE, rationale)
        await uow.commit()
    ctx.on_determined()
    await assign_waiting(ctx)
    return decided


async def escalate(
    ctx: Clinical,
    identity: Identity,
    packet_id: uuid.UUID,
    recommendation: m.Outcome,
    rationale: str,
    lines: Sequence[dict[str, Any]] = (),
) -> Case:
    """The nurse sends the case to a medical director with a recommendation and rationale (T10)."""
    if recommendation not in RECOMMENDATIONS or not rationale.strip():
        raise errors.Invalid("RECOMMENDATION_REQUIRED", "A recommendation and its rationale are required.")
    async with ctx.uow() as uow:
        case = await open_case(uow, packet_id)
        if case.status != Status.IN_REVIEW:
            raise errors.NotAllowed("NOT_IN_REVIEW", "Only a case in nurse review can be escalated.")
        held = await held_by(uow, case, identity)
        at = ctx.now()
        await uow.end_assignment(packet_id, "escalated", at)
        case.status = Status.MD_REVIEW
        case.escalated_by = held.reviewer_id
        case.recommendation = {
            "outcome": recommendation.value,
            "rationale": rationale,
            "lines": list(lines),
            "by": held.reviewer_id,
            "at": at.isoformat(),
        }
        case.enqueued_at = at
        await uow.save_case(case)
        await uow.add_note(packet_id, identity.user_id, "escalation", rationale, at)
        await uow.emit(
            m.ReviewEscalated(
                packet_id=packet_id,
                producer=PRODUCER,
                packet_version=case.packet_version,
                reviewer_id=held.reviewer_id,
                recommendation=recommendation,
                rationale=rationale,
            )
        )
        await uow.commit()
    await assign_waiting(ctx)
    return case


async def decide(
    ctx: Clinical, identity: Identity, packet_id: uuid.UUID, lines: Sequence[LineOutcome], rationale: str | None
) -> Decided:
    """A medical director decides each line (T11): affirmed, or non-affirmed with a reason per unmet criterion."""
    if MD not in identity.roles:
        raise errors.Forbidden("MEDICAL_DIRECTOR_ONLY", "Only a medical director decides after escalation.")
    async with ctx.uow() as uow:
        case = await open_case(uow, packet_id)
        if case.status != Status.MD_REVIEW:
            raise errors.NotAllowed("NOT_IN_MD_REVIEW", "A medical director decides an escalated case.")
        await held_by(uow, case, identity)
        checklist = checklist_of(ctx, case)
        decided = md_decision(checklist, await uow.answers(packet_id), case.lines, lines)
        if decided.problems:
            raise _invalid(decided)
        await _determine(ctx, uow, case, decided, identity, MD, rationale)
        await uow.commit()
    ctx.on_determined()
    await assign_waiting(ctx)
    return decided


async def return_to_nurse(ctx: Clinical, identity: Identity, packet_id: uuid.UUID, note: str) -> Case:
    """The medical director returns the case to the nurse who escalated it, with a note (T12)."""
    if not note.strip():
        raise errors.Invalid("NOTE_REQUIRED", "Say what the nurse should look at.")
    async with ctx.uow() as uow:
        case = await open_case(uow, packet_id)
        if case.status != Status.MD_REVIEW:
            raise errors.NotAllowed("NOT_IN_MD_REVIEW", "Only an escalated case can be returned.")
        await held_by(uow, case, identity)
        at = ctx.now()
        await uow.end_assignment(packet_id, "returned", at)
        case.status = Status.IN_REVIEW
        await uow.save_case(case)
        nurse = case.escalated_by or identity.user_id
        await uow.assign(Assignment(packet_id, nurse, Stage.NURSE, identity.user_id, at))
        await uow.add_note(packet_id, identity.user_id, "return", note, at)
        await uow.emit(
            m.ReviewReturned(
                packet_id=packet_id,
                producer=PRODUCER,
                packet_version=case.packet_version,
                medical_director_id=identity.user_id,
                note=note,
            )
        )
        await uow.commit()
        return case


async def add_note(ctx: Clinical, identity: Identity, packet_id: uuid.UUID, text: str) -> None:
    async with ctx.uow() as uow:
        case = await open_case(uow, packet_id)
        if roles.SUPERVISOR not in identity.roles:
            await held_by(uow, case, identity)
        await uow.add_note(packet_id, identity.user_id, "note", text, ctx.now())
        await uow.commit()
