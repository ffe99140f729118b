"""Apply a trigger to a packet: lock, decide, write state + history + outbox in one unit of work."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from wiser_contracts import messages as m

from ..domain import state_machine as sm
from .ports import UnitOfWork, UowFactory

log = logging.getLogger("wiser.intake.transitions")


@dataclass(frozen=True)
class Applied:
    move: sm.Move
    version: int


@dataclass(frozen=True)
class Rejected:
    reject: sm.Reject
    state: m.PacketState | None


@dataclass(frozen=True)
class Ignored:
    reason: str


@dataclass(frozen=True)
class Early:
    """Not legal yet, but can become legal: the bus entrypoint tries it again later."""

    reason: str


@dataclass(frozen=True)
class Duplicate:
    pass


@dataclass(frozen=True)
class NotFound:
    pass


Result = Applied | Rejected | Ignored | Early | Duplicate | NotFound


Extra = Callable[[UnitOfWork, Any, sm.Move], Awaitable[None]]


def _view(row: Any) -> sm.PacketView:
    det = row.determination or {}
    return sm.PacketView(
        state=m.PacketState(row.state),
        validation_run=row.validation_run,
        outcome=m.Outcome(det["outcome"]) if det.get("outcome") else None,
        utn=row.utn,
    )


def move_values(decision: sm.Move, trigger: sm.Trigger, version: int) -> dict[str, Any]:
    """The packet columns a move sets: its new state, version and time, and the rule's effects."""
    values: dict[str, Any] = {"state": decision.target.value, "version": version, "updated_at": trigger.at}
    values.update(decision.effects)
    return values


async def record_move(
    uow: UnitOfWork,
    packet_id: uuid.UUID,
    trigger: sm.Trigger,
    decision: sm.Move,
    values: dict[str, Any],
    *,
    determination: dict[str, Any] | None,
    utn: str | None,
    dismissal: dict[str, Any] | None = None,
) -> None:
    """The history row and the `intake.packet.transitioned` outbox row of a move already written to the packet."""
    message_id = trigger.message.message_id if trigger.message else None
    version = values["version"]
    await _history_row(uow, packet_id, trigger, decision, version)
    decided = values.get("determination") or determination or {}
    outcome = decided.get("outcome")
    lines: tuple[m.LineDecision, ...] = ()
    dismissal_codes: tuple[str, ...] = ()
    if decision.target == m.PacketState.DETERMINED:  # what was decided travels with every entry into determined
        lines, dismissal_codes = _decided(decided, values.get("dismissal") or dismissal)
    await uow.emit(
        m.PacketTransitioned(
            packet_id=packet_id,
            producer="intake",
            causation_id=message_id,
            occurred_at=trigger.at,  # as the history row says: a rebuild from history gives the same times
            transition=decision.transition,
            from_state=decision.source,
            to_state=decision.target,
            version=version,
            actor=trigger.actor,
            reason=sm.event_reason(trigger.kind, trigger.reason),  # free text stays in history (encrypted)
            outcome=m.Outcome(outcome) if outcome else None,
            utn=utn,
            validation_run=values.get("validation_run"),
            closure_reason=values.get("closure_reason"),
            lines=lines,
            dismissal_codes=dismissal_codes,
        ),
    )


def _decided(
    determination: dict[str, Any] | None, dismissal: dict[str, Any] | None
) -> tuple[tuple[m.LineDecision, ...], tuple[str, ...]]:
    """A determined transition's lines and dismissal codes, from the packet's determination and dismissal."""
    lines = tuple(m.LineDecision.model_validate(ln) for ln in (determination or {}).get("lines") or ())
    return lines, tuple(r["code"] for r in (dismissal or {}).get("all") or ())


async def _history_row(
    uow: UnitOfWork, packet_id: uuid.UUID, trigger: sm.Trigger, decision: sm.Move, version: int
) -> None:
    await uow.history.add_transition(
        {
            "packet_id": packet_id,
            "transition": decision.transition,
            "from_state": decision.source.value,
            "to_state": decision.target.value,
            "trigger": trigger.kind,
            "actor_type": trigger.actor.type.value,
            "actor_id": trigger.actor.id,
            "reason": trigger.reason,
            "message_id": trigger.message.message_id if trigger.message else None,
            "version": version,
            "based_on_version": getattr(trigger.message, "packet_version", None),
            "at": trigger.at,
        }
    )


async def record_rejection(
    uow: UnitOfWork,
    packet_id: uuid.UUID,
    state: m.PacketState,
    decision: sm.Reject,
    trigger: str,
    message_id: uuid.UUID | None,
    actor_id: str,
    publish: bool = True,
) -> None:
    """A trigger that changes nothing leaves one trace: the rejection row (and, from the bus, the event)."""
    await uow.history.add_rejection(
        {
            "packet_id": packet_id,
            "trigger": trigger,
            "state": state.value,
            "code": decision.code,
            "detail": decision.detail,
            "message_id": message_id,
            "actor_id": actor_id,
        }
    )
    if publish:
        await uow.emit(
            m.TransitionRejected(
                packet_id=packet_id,
                producer="intake",
                trigger_type=trigger,
                trigger_message_id=message_id,
                current_state=state,
                code=decision.code,
                detail=decision.detail,
                causation_id=message_id,
            ),
        )
    log.info("transition rejected", extra={"trigger": trigger, "code": decision.code})


async def apply(
    uow: UnitOfWork,
    packet_id: uuid.UUID,
    trigger: sm.Trigger,
    *,
    owner: str | None = None,
    publish_rejection: bool = False,
    before_move: Extra | None = None,
    expected_version: int | None = None,
) -> Result:
    """The transition rule of STATE_MACHINE.md inside the caller's unit of work (the caller commits)."""
    row = await uow.packets.lock(packet_id, owner)
    if row is None:
        return NotFound()
    if expected_version is not None and row.version != expected_version:
        # The caller acted on a version that is gone (If-Match): nothing is decided, nothing recorded.
        return Rejected(
            sm.Reject("VERSION_MISMATCH", f"the packet is at version {row.version}, not {expected_version}"),
            m.PacketState(row.state),
        )
    view = _view(row)
    decision = sm.decide(view, trigger)
    message_id = trigger.message.message_id if trigger.message else None
    if isinstance(decision, sm.Ignore):
        log.info("stale trigger ignored", extra={"trigger": trigger.kind, "reason": decision.reason})
        return Ignored(decision.reason)
    if isinstance(decision, sm.Wait):
        return Early(decision.reason)
    if isinstance(decision, sm.Reject):
        await record_rejection(
            uow, packet_id, view.state, decision, trigger.kind, message_id, trigger.actor.id, publish_rejection
        )
        return Rejected(decision, view.state)
    if before_move is not None:
        await before_move(uow, row, decision)
    version = row.version + 1
    values = move_values(decision, trigger, version)
    await uow.packets.update(packet_id, values)
    await record_move(
        uow, packet_id, trigger, decision, values, determination=row.determination, utn=row.utn, dismissal=row.dismissal
    )
    return Applied(decision, version)


async def apply_and_commit(uow_factory: UowFactory, packet_id: uuid.UUID, trigger: sm.Trigger, **kw: Any) -> Result:
    """`apply` in a unit of work of its own, committed (the rejection row too, when it is one)."""
    async with uow_factory() as uow:
        result = await apply(uow, packet_id, trigger, **kw)
        await uow.commit()
    return result


async def apply_bus_trigger(uow_factory: UowFactory, handler: str, message: m.Message, trigger: sm.Trigger) -> Result:
    """A trigger from the bus: inbox dedup, then the transition, in one unit of work."""
    assert message.packet_id is not None
    async with uow_factory() as uow:
        if not await uow.record_inbox(handler, message):
            return Duplicate()
        result = await apply(uow, message.packet_id, trigger, publish_rejection=True)
        if isinstance(result, Early):
            return result  # not consumed yet: rolled back, so the inbox does not remember it
        await uow.commit()
        return result


async def assign_utn(uow_factory: UowFactory, handler: str, message: m.UtnAssigned) -> Result:
    """Add the MAC's UTN exactly once (not a state change)."""
    assert message.packet_id is not None
    async with uow_factory() as uow:
        if not await uow.record_inbox(handler, message):
            return Duplicate()
        row = await uow.packets.lock(message.packet_id)
        if row is None:
            await uow.commit()
            return NotFound()
        decision = sm.decide_utn(_view(row), message.utn)
        if isinstance(decision, sm.Wait):
            return Early(decision.reason)  # rolled back: the inbox does not remember it
        if isinstance(decision, sm.Ignore):
            await uow.commit()
            return Ignored(decision.reason)
        if isinstance(decision, sm.Reject):
            state = m.PacketState(row.state)
            await record_rejection(
                uow, message.packet_id, state, decision, message.type, message.message_id, message.producer
            )
            await uow.commit()
            return Rejected(decision, state)
        # A change in place (STATE_MACHINE.md): the UTN, a history row, a version bump and its own event.
        version = row.version + 1
        trigger = sm.Trigger(
            kind=message.type,
            actor=m.Actor(type=m.ActorType.SYSTEM, id=message.producer or "unknown"),
            at=datetime.now(UTC),
            message=message,
            reason="UTN recorded",
        )
        await uow.packets.update(message.packet_id, {"utn": message.utn, "version": version, "updated_at": trigger.at})
        await _history_row(uow, message.packet_id, trigger, decision, version)
        await uow.emit(
            m.PacketUtnRecorded(
                packet_id=message.packet_id,
                producer="intake",
                causation_id=message.message_id,
                utn=message.utn,
                version=version,
            )
        )
        await uow.commit()
        return Applied(decision, version)


async def remember_letter(uow_factory: UowFactory, message: m.LetterDrafted) -> None:
    """Keep the drafted letter's id on the packet so its partner can fetch it (once per message)."""
    assert message.packet_id is not None
    async with uow_factory() as uow:
        if not await uow.record_inbox("intake.letters", message):
            return
        entry = {"letter_id": str(message.letter_id), "kind": message.kind, "version": message.letter_version}
        await uow.packets.add_letter(message.packet_id, entry)
        await uow.commit()


# ------------------------------------------------------------------- changes in place (STATE_MACHINE.md)

REASSIGNABLE = frozenset({m.PacketState.CLINICAL_REVIEW, m.PacketState.MD_REVIEW})
RECLASSIFIABLE = frozenset({m.PacketState.CLINICAL_QUEUE, m.PacketState.CLINICAL_REVIEW})
STANDARD_CLOCK = timedelta(days=3)


def _in_place_allowed(state: m.PacketState, allowed: frozenset[m.PacketState]) -> sm.Reject | sm.Wait | None:
    if state in allowed:
        return None
    if state in sm.BEFORE_DETERMINATION and allowed & sm.reachable_from(state):
        return sm.Wait(f"not in {sorted(s.value for s in allowed)} yet")
    return sm.Reject("ILLEGAL_CHANGE", f"not allowed in state {state.value}")


async def change_in_place(
    uow_factory: UowFactory, handler: str, message: m.ReviewReassigned | m.ReviewReclassified
) -> Result:
    """Reassigned (clinical_review, md_review) or reclassified to standard (clinical_queue, clinical_review):
    no state change; a history row, a version bump and intake's own event, in one unit of work."""
    assert message.packet_id is not None
    async with uow_factory() as uow:
        if not await uow.record_inbox(handler, message):
            return Duplicate()
        row = await uow.packets.lock(message.packet_id)
        if row is None:
            await uow.commit()
            return NotFound()
        state = m.PacketState(row.state)
        reassigned = isinstance(message, m.ReviewReassigned)
        problem = _in_place_allowed(state, REASSIGNABLE if reassigned else RECLASSIFIABLE)
        if isinstance(problem, sm.Wait):
            return Early(problem.reason)  # rolled back: the inbox does not remember it
        if isinstance(problem, sm.Reject):
            await record_rejection(
                uow, message.packet_id, state, problem, message.type, message.message_id, message.producer
            )
            await uow.commit()
            return Rejected(problem, state)
        version, at = row.version + 1, datetime.now(UTC)
        values: dict[str, Any] = {"version": version, "updated_at": at}
        event: m.Message
        if isinstance(message, m.ReviewReassigned):
            by = message.reassigned_by
            actor = m.Actor(type=m.ActorType.SYSTEM if by == "system" else m.ActorType.USER, id=by)
            reason = f"reviewer {message.from_reviewer_id or '-'} -> {message.to_reviewer_id}"
            kind = "REASSIGN"
            event = m.PacketReassigned(
                packet_id=message.packet_id,
                producer="intake",
                causation_id=message.message_id,
                reviewer_id=message.to_reviewer_id,
                version=version,
            )
        else:
            if row.review_type == "standard":
                await uow.commit()
                return Ignored("already standard")
            due_at = row.received_at + STANDARD_CLOCK
            values.update(review_type="standard", due_at=due_at)
            actor = m.Actor(type=m.ActorType.USER, id=message.reviewer_id, roles=("clinical_reviewer",))
            reason = f"urgency not confirmed: {message.reason}"
            kind = "RECLASS"
            event = m.PacketReclassified(
                packet_id=message.packet_id,
                producer="intake",
                causation_id=message.message_id,
                review_type="standard",
                due_at=due_at,
                version=version,
                reason=message.reason,
            )
        await uow.packets.update(message.packet_id, values)
        await uow.history.add_transition(
            {
                "packet_id": message.packet_id,
                "transition": kind,
                "from_state": state.value,
                "to_state": state.value,
                "trigger": message.type,
                "actor_type": actor.type.value,
                "actor_id": actor.id,
                "reason": reason,
                "message_id": message.message_id,
                "version": version,
                "based_on_version": message.packet_version,
                "at": at,
            }
        )
        await uow.emit(event)
        await uow.commit()
        return Applied(sm.Move(kind, state, state, values), version)


async def reannounce(uow_factory: UowFactory, state: m.PacketState) -> int:
    """Publish again (outbox, new message ids) the transition that brought each packet now in `state` there,
    with the same content, so a service deployed later picks them up; consumers are idempotent about it."""
    count = 0
    async with uow_factory() as uow:
        for row in await uow.packets.in_state(state.value):
            last = await uow.history.last_into(row.id, state.value)
            if last is None:
                continue
            det = row.determination or {}
            lines, dismissal_codes = _decided(det, row.dismissal) if state == m.PacketState.DETERMINED else ((), ())
            await uow.emit(
                m.PacketTransitioned(
                    packet_id=row.id,
                    producer="intake",
                    causation_id=last.message_id,
                    transition=last.transition,
                    from_state=m.PacketState(last.from_state),
                    to_state=m.PacketState(last.to_state),
                    version=last.version,
                    actor=m.Actor(type=m.ActorType(last.actor_type), id=last.actor_id),
                    reason=sm.event_reason(last.trigger, last.reason),  # no free text on the bus
                    outcome=m.Outcome(det["outcome"]) if det.get("outcome") else None,
                    utn=row.utn,
                    validation_run=row.validation_run if state == m.PacketState.VALIDATING else None,
                    closure_reason=row.closure_reason,
                    lines=lines,
                    dismissal_codes=dismissal_codes,
                )
            )
            count += 1
        await uow.commit()
    log.info("transitions re-announced", extra={"state": state.value, "count": count})
    return count
