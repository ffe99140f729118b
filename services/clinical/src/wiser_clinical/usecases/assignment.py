"""Who holds which case: a case arrives or closes, the system assigns waiting cases, a reviewer takes the next
one or a given one, or releases it, a supervisor assigns or reassigns. Each runs in one unit of work: load,
decide (domain), save, emit (outbox)."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from wiser_contracts import messages as m
from wiser_contracts import roles
from wiser_servicekit.identity import Identity

from ..domain import assignment as rules
from ..domain.model import OPEN, Assignment, Case, Line, Stage, Status
from . import errors
from .ports import Clinical, UnitOfWork

log = logging.getLogger("wiser.clinical.assignment")

SYSTEM = "system"
PRODUCER = "clinical"


def _specialties(ctx: Clinical) -> dict[str, frozenset[str]]:
    return {sid: c.specialties for sid, c in ctx.checklists.services.items()}


def checklist_of(ctx: Clinical, case: Case) -> Any:
    checklist = ctx.checklists.services.get(case.service_id or "")
    if checklist is None:
        raise errors.NotAllowed("NO_CHECKLIST", "No criteria checklist covers this packet's service codes.")
    return checklist


# ------------------------------------------------------------------------------------ the bus's side


def case_from_packet(detail: dict[str, Any], ctx: Clinical, version: int, at: datetime) -> Case:
    """The case for a packet as intake's ops API describes it: the summary clinical keeps (no PHI)."""
    lines = tuple(
        Line(
            int(s.get("line_no") or i + 1),
            str(s["code"]).upper(),
            int(s.get("units") or 1),
            s.get("date_of_service", ""),
        )
        for i, s in enumerate(detail.get("services") or ())
    )
    checklist = ctx.checklists.for_codes(line.code for line in lines)
    practitioner = detail.get("practitioner") or {}
    summary = {
        "channel": detail.get("channel"),
        "submission_type": detail.get("submission_type"),
        "previous_utn": detail.get("previous_utn"),
        "place_of_service": detail.get("place_of_service"),
        "diagnosis_codes": list(detail.get("diagnosis_codes") or ()),
        "practitioner_npi": practitioner.get("npi"),
        "document_count": detail.get("document_count"),
    }
    return Case(
        packet_id=uuid.UUID(str(detail["packet_id"])),
        tracking_number=detail.get("tracking_number") or "",
        status=Status.QUEUED,
        packet_version=version,
        state_of_service=detail["state_of_service"],
        review_type=detail.get("review_type") or "standard",
        received_at=datetime.fromisoformat(detail["received_at"].replace("Z", "+00:00")),
        due_at=datetime.fromisoformat(detail["due_at"].replace("Z", "+00:00")),
        lines=lines,
        service_id=checklist.service_id if checklist else None,
        summary=summary,
        checklist_version=checklist.version if checklist else None,
        enqueued_at=at,
    )


async def case_queued(ctx: Clinical, message: m.PacketTransitioned, handler: str) -> str:
    """A packet entered `clinical_queue` (validated, released, or re-announced): open its case once, then assign."""
    assert message.packet_id is not None
    async with ctx.uow() as uow:
        existing = await uow.case(message.packet_id)
    detail = None if existing else await ctx.intake.packet(message.packet_id, view="facts")
    async with ctx.uow() as uow:
        if not await uow.first_time(message.message_id, handler):
            return "duplicate"
        case = await uow.case(message.packet_id, lock=True)
        if case is None:
            assert detail is not None
            if detail.get("state") not in ("clinical_queue", "clinical_review", "md_review"):
                await uow.commit()
                return "stale"  # the packet moved on (e.g. withdrawn) before we heard of it
            created = case_from_packet(detail, ctx, message.version, ctx.now())
            await uow.add_case(created)
            outcome = "opened"
        else:
            if message.version > case.packet_version:
                case.packet_version = message.version
                await uow.save_case(case)
            outcome = "known"
        await uow.commit()
    await assign_waiting(ctx)
    return outcome


async def case_closed(ctx: Clinical, message: m.PacketTransitioned, handler: str) -> str:
    """A packet closed: a withdrawn one closes its open case and frees its reviewer."""
    assert message.packet_id is not None
    async with ctx.uow() as uow:
        if not await uow.first_time(message.message_id, handler):
            return "duplicate"
        case = await uow.case(message.packet_id, lock=True)
        if case is None or case.status not in OPEN:
            await uow.commit()
            return "ignored"
        at = ctx.now()
        await uow.end_assignment(case.packet_id, message.closure_reason or "closed", at)
        case.status = Status.CLOSED
        case.packet_version = max(case.packet_version, message.version)
        await uow.save_case(case)
        await uow.add_note(case.packet_id, SYSTEM, "closed", f"packet closed ({message.closure_reason})", at)
        await uow.commit()
    await assign_waiting(ctx)
    return "closed"


async def assign_waiting(ctx: Clinical) -> int:
    """Give every waiting case the least-loaded eligible reviewer, in queue order; decisions serialised."""
    async with ctx.uow() as uow:
        await uow.lock_assignments()
        reviewers = await uow.reviewers()
        loads = await uow.loads()
        now = ctx.now()
        # Only the cases someone with room could take: a long queue while every reviewer is full costs nothing.
        where = rules.reach(reviewers, now.date(), loads)
        if not where:
            return 0
        waiting = await uow.waiting_cases(where)
        if not waiting:
            return 0
        planned = rules.plan(waiting, reviewers, now.date(), loads, _specialties(ctx))
        by_id = {c.packet_id: c for c in waiting}
        for packet_id, reviewer_id in planned:
            await _give(uow, by_id[packet_id], reviewer_id, SYSTEM, now)
        await uow.commit()
    if planned:
        log.info("cases assigned", extra={"count": len(planned)})
    return len(planned)


async def _give(uow: UnitOfWork, case: Case, reviewer_id: str, by: str, at: datetime) -> bool:
    """Assign a waiting case (nurse stage: T7; medical director: a reassignment within md_review)."""
    stage = case.stage
    if not await uow.assign(Assignment(case.packet_id, reviewer_id, stage, by, at)):
        return False
    if stage == Stage.NURSE:
        case.status = Status.IN_REVIEW
        await uow.save_case(case)
        await uow.emit(
            m.ReviewAssigned(
                packet_id=case.packet_id, producer=PRODUCER, packet_version=case.packet_version, reviewer_id=reviewer_id
            )
        )
    else:
        await uow.emit(
            m.ReviewReassigned(
                packet_id=case.packet_id,
                producer=PRODUCER,
                packet_version=case.packet_version,
                from_reviewer_id=case.escalated_by,
                to_reviewer_id=reviewer_id,
                reassigned_by=by,
            )
        )
    return True


# ---------------------------------------------------------------------------------- a person's side


async def _reviewer(uow: UnitOfWork, identity: Identity) -> Any:
    reviewer = await uow.reviewer(identity.user_id)
    if reviewer is None or not reviewer.active:
        raise errors.Forbidden("NO_REVIEWER_PROFILE", "You have no active reviewer profile.")
    return reviewer


async def open_case(uow: UnitOfWork, packet_id: uuid.UUID) -> Case:
    case = await uow.case(packet_id, lock=True)
    if case is None:
        raise errors.case_not_found()
    if case.status not in OPEN:
        raise errors.NotAllowed("CASE_NOT_OPEN", f"The case is {case.status.value}.")
    return case


async def held_by(uow: UnitOfWork, case: Case, identity: Identity, *, supervisor_ok: bool = False) -> Assignment:
    """The case's active assignment, which must be the caller's (or the caller is a supervisor, where allowed)."""
    current = await uow.active_assignment(case.packet_id)
    if supervisor_ok and roles.SUPERVISOR in identity.roles and current is not None:
        return current
    if current is None or current.reviewer_id != identity.user_id:
        raise errors.Forbidden("NOT_ASSIGNED", "This case is not assigned to you.")
    return current


async def take_next(ctx: Clinical, identity: Identity) -> Case | None:
    """The reviewer takes the first waiting case they may hold (expedited first, then earliest due)."""
    async with ctx.uow() as uow:
        await uow.lock_assignments()
        reviewer = await _reviewer(uow, identity)
        loads = await uow.loads()
        load = loads.get(reviewer.user_id, 0)
        if load >= reviewer.capacity:
            raise errors.NotAllowed("AT_CAPACITY", f"You hold {load} of {reviewer.capacity} cases.")
        case = rules.next_for(reviewer, await uow.waiting_cases(), ctx.now().date(), load, _specialties(ctx))
        if case is None:
            return None
        await _give(uow, case, reviewer.user_id, reviewer.user_id, ctx.now())
        await uow.commit()
        return case


async def take(ctx: Clinical, identity: Identity, packet_id: uuid.UUID) -> Case:
    """The reviewer takes one waiting case; of two taking it at once, one wins (the other: 409)."""
    async with ctx.uow() as uow:
        case = await open_case(uow, packet_id)
        reviewer = await _reviewer(uow, identity)
        if await uow.active_assignment(packet_id) is not None or case.status == Status.IN_REVIEW:
            raise errors.NotAllowed("ALREADY_ASSIGNED", "Someone else holds this case.")
        load = (await uow.loads()).get(reviewer.user_id, 0)
        why = rules.why_not(
            reviewer, case, ctx.now().date(), load, _specialties(ctx).get(case.service_id or "", frozenset()),
            by_choice=True,
        )  # fmt: skip
        if why:
            raise errors.NotAllowed("NOT_ELIGIBLE", "You may not take this case: " + "; ".join(why) + ".")
        if not await _give(uow, case, reviewer.user_id, reviewer.user_id, ctx.now()):
            raise errors.NotAllowed("ALREADY_ASSIGNED", "Someone else holds this case.")
        await uow.commit()
        return case


async def release(ctx: Clinical, identity: Identity, packet_id: uuid.UUID, reason: str) -> Case:
    """The assigned nurse (or a supervisor) puts the case back in the queue (T8)."""
    async with ctx.uow() as uow:
        case = await open_case(uow, packet_id)
        if case.status != Status.IN_REVIEW:
            raise errors.NotAllowed("NOT_IN_REVIEW", "Only a case in nurse review can be released.")
        held = await held_by(uow, case, identity, supervisor_ok=True)
        at = ctx.now()
        await uow.end_assignment(packet_id, "released", at)
        case.status = Status.QUEUED
        case.declined_by = (*case.declined_by, held.reviewer_id)
        case.enqueued_at = at
        await uow.save_case(case)
        await uow.add_note(packet_id, identity.user_id, "release", reason, at)
        await uow.emit(
            m.ReviewReleased(
                packet_id=packet_id,
                producer=PRODUCER,
                packet_version=case.packet_version,
                reviewer_id=held.reviewer_id,
                reason=reason,
            )
        )
        await uow.commit()
    await assign_waiting(ctx)
    return case


async def assign_to(ctx: Clinical, identity: Identity, packet_id: uuid.UUID, reviewer_id: str, reason: str) -> Case:
    """A supervisor assigns a waiting case (T7) or reassigns a held one (a change in place)."""
    async with ctx.uow() as uow:
        await uow.lock_assignments()
        case = await open_case(uow, packet_id)
        target = await uow.reviewer(reviewer_id)
        if target is None:
            raise errors.Invalid("NO_SUCH_REVIEWER", "No reviewer profile with this user id.")
        current = await uow.active_assignment(packet_id)
        if current is not None and current.reviewer_id == reviewer_id:
            raise errors.NotAllowed("ALREADY_THEIRS", "The case is already assigned to this reviewer.")
        load = (await uow.loads()).get(reviewer_id, 0)
        why = rules.why_not(
            target, case, ctx.now().date(), load, _specialties(ctx).get(case.service_id or "", frozenset()),
            by_choice=True,
        )  # fmt: skip
        if why:
            raise errors.NotAllowed("NOT_ELIGIBLE", "This reviewer may not hold the case: " + "; ".join(why) + ".")
        at = ctx.now()
        await uow.add_note(packet_id, identity.user_id, "reassignment", f"to {reviewer_id}: {reason}", at)
        if current is None:
            await _give(uow, case, reviewer_id, identity.user_id, at)
        else:
            await uow.end_assignment(packet_id, "reassigned", at)
            await uow.assign(Assignment(packet_id, reviewer_id, case.stage, identity.user_id, at))
            await uow.emit(
                m.ReviewReassigned(
                    packet_id=packet_id,
                    producer=PRODUCER,
                    packet_version=case.packet_version,
                    from_reviewer_id=current.reviewer_id,
                    to_reviewer_id=reviewer_id,
                    reassigned_by=identity.user_id,
                )
            )
        await uow.commit()
        return case
