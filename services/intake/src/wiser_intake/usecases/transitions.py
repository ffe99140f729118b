"""Apply a trigger to a packet: lock, decide, write state + history + outbox in one transaction."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from wiser_contracts import messages as m
from wiser_servicekit.outbox import add_to_outbox, record_in_inbox

from ..adapters.tables import inbox, outbox, packets, rejections, transitions
from ..domain import state_machine as sm

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


class _RollBack(Exception):
    def __init__(self, result: Result) -> None:
        self.result = result


Extra = Callable[[AsyncSession, Any, sm.Move], Awaitable[None]]


def _view(row: Any) -> sm.PacketView:
    det = row.determination or {}
    return sm.PacketView(
        state=m.PacketState(row.state),
        validation_run=row.validation_run,
        outcome=m.Outcome(det["outcome"]) if det.get("outcome") else None,
        utn=row.utn,
    )


async def lock_packet(session: AsyncSession, packet_id: uuid.UUID, owner: str | None = None) -> Any:
    query = select(packets).where(packets.c.id == packet_id).with_for_update()
    if owner is not None:
        query = query.where(packets.c.partner_client_id == owner)
    return (await session.execute(query)).first()


def move_values(decision: sm.Move, trigger: sm.Trigger, version: int) -> dict[str, Any]:
    """The packet columns a move sets: its new state, version and time, and the rule's effects."""
    values: dict[str, Any] = {"state": decision.target.value, "version": version, "updated_at": trigger.at}
    values.update(decision.effects)
    return values


async def record_move(
    session: AsyncSession,
    packet_id: uuid.UUID,
    trigger: sm.Trigger,
    decision: sm.Move,
    values: dict[str, Any],
    *,
    determination: dict[str, Any] | None,
    utn: str | None,
) -> None:
    """The history row and the `intake.packet.transitioned` outbox row of a move already written to `packets`."""
    message_id = trigger.message.message_id if trigger.message else None
    version = values["version"]
    await session.execute(
        transitions.insert().values(
            packet_id=packet_id,
            transition=decision.transition,
            from_state=decision.source.value,
            to_state=decision.target.value,
            trigger=trigger.kind,
            actor_type=trigger.actor.type.value,
            actor_id=trigger.actor.id,
            reason=trigger.reason,
            message_id=message_id,
            version=version,
            based_on_version=getattr(trigger.message, "packet_version", None),
            at=trigger.at,
        )
    )
    outcome = (values.get("determination") or determination or {}).get("outcome")
    await add_to_outbox(
        session,
        outbox,
        m.PacketTransitioned(
            packet_id=packet_id,
            producer="intake",
            causation_id=message_id,
            transition=decision.transition,
            from_state=decision.source,
            to_state=decision.target,
            version=version,
            actor=trigger.actor,
            reason=trigger.reason,
            outcome=m.Outcome(outcome) if outcome else None,
            utn=utn,
            validation_run=values.get("validation_run"),
            closure_reason=values.get("closure_reason"),
        ),
    )


async def record_rejection(
    session: AsyncSession,
    packet_id: uuid.UUID,
    state: m.PacketState,
    decision: sm.Reject,
    trigger: str,
    message_id: uuid.UUID | None,
    actor_id: str,
    publish: bool = True,
) -> None:
    """A trigger that changes nothing leaves one trace: the rejection row (and, from the bus, the event)."""
    await session.execute(
        rejections.insert().values(
            packet_id=packet_id,
            trigger=trigger,
            state=state.value,
            code=decision.code,
            detail=decision.detail,
            message_id=message_id,
            actor_id=actor_id,
        )
    )
    if publish:
        await add_to_outbox(
            session,
            outbox,
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


async def apply_in_session(
    session: AsyncSession,
    packet_id: uuid.UUID,
    trigger: sm.Trigger,
    *,
    owner: str | None = None,
    publish_rejection: bool = False,
    before_move: Extra | None = None,
    expected_version: int | None = None,
) -> Result:
    """The transition rule of STATE_MACHINE.md inside the caller's transaction."""
    row = await lock_packet(session, packet_id, owner)
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
            session, packet_id, view.state, decision, trigger.kind, message_id, trigger.actor.id, publish_rejection
        )
        return Rejected(decision, view.state)
    if before_move is not None:
        await before_move(session, row, decision)
    version = row.version + 1
    values = move_values(decision, trigger, version)
    await session.execute(update(packets).where(packets.c.id == packet_id).values(**values))
    await record_move(session, packet_id, trigger, decision, values, determination=row.determination, utn=row.utn)
    return Applied(decision, version)


async def apply_bus_trigger(
    sessions: Callable[[], AsyncSession], handler: str, message: m.Message, trigger: sm.Trigger
) -> Result:
    """A trigger from the bus: inbox dedup, then the transition, in one transaction."""
    assert message.packet_id is not None
    try:
        async with sessions() as session, session.begin():
            if not await record_in_inbox(session, inbox, message.message_id, handler):
                return Duplicate()
            result = await apply_in_session(session, message.packet_id, trigger, publish_rejection=True)
            if isinstance(result, Early):
                raise _RollBack(result)  # not consumed yet: the inbox must not remember it
            return result
    except _RollBack as r:
        return r.result


async def assign_utn(sessions: Callable[[], AsyncSession], handler: str, message: m.UtnAssigned) -> Result:
    """Add the MAC's UTN exactly once (not a state change)."""
    assert message.packet_id is not None
    try:
        return await _assign_utn(sessions, handler, message)
    except _RollBack as r:
        return r.result


async def _assign_utn(sessions: Callable[[], AsyncSession], handler: str, message: m.UtnAssigned) -> Result:
    assert message.packet_id is not None
    async with sessions() as session, session.begin():
        if not await record_in_inbox(session, inbox, message.message_id, handler):
            return Duplicate()
        row = await lock_packet(session, message.packet_id)
        if row is None:
            return NotFound()
        decision = sm.decide_utn(_view(row), message.utn)
        if isinstance(decision, sm.Ignore):
            return Ignored(decision.reason)
        if isinstance(decision, sm.Wait):
            raise _RollBack(Early(decision.reason))
        if isinstance(decision, sm.Reject):
            state = m.PacketState(row.state)
            await record_rejection(
                session, message.packet_id, state, decision, message.type, message.message_id, message.producer
            )
            return Rejected(decision, state)
        await session.execute(
            update(packets)
            .where(packets.c.id == message.packet_id)
            .values(utn=message.utn, updated_at=datetime.now(UTC))
        )
        return Applied(decision, row.version)


async def remember_letter(sessions: Callable[[], AsyncSession], message: m.LetterDrafted) -> None:
    """Keep the drafted letter's id on the packet so its partner can fetch it (once per message)."""
    async with sessions() as session, session.begin():
        if not await record_in_inbox(session, inbox, message.message_id, "intake.letters"):
            return
        entry = [{"letter_id": str(message.letter_id), "kind": message.kind, "version": message.letter_version}]
        await session.execute(
            update(packets).where(packets.c.id == message.packet_id).values(letters=packets.c.letters.op("||")(entry))
        )
