"""Bus entrypoints: every outcome event that moves a packet (T2–T4, T7–T18) and intake's commands."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from wiser_contracts import messages as m
from wiser_contracts import topology
from wiser_servicekit.consumer import Defer

from ..domain import state_machine as sm
from ..usecases.context import Intake
from ..usecases.transitions import Applied, Early, apply_bus_trigger, assign_utn, change_in_place, remember_letter
from .on_behalf import command_actor

log = logging.getLogger("wiser.intake.messaging")


def _system(producer: str) -> m.Actor:
    return m.Actor(type=m.ActorType.SYSTEM, id=producer or "unknown")


def trigger_for(message: m.Message) -> sm.Trigger:
    """Turn an outcome event or command into a state-machine trigger (actor and reason)."""
    actor, reason = _system(message.producer), None
    if isinstance(message, m.PacketValidated):
        reason = f"validation run {message.run}: {message.outcome.value}"
    elif isinstance(message, m.ReviewAssigned):
        reason = f"assigned to {message.reviewer_id}"
    elif isinstance(message, m.ReviewReleased):
        reason = message.reason
    elif isinstance(message, m.ReviewEscalated):
        reason = message.rationale
    elif isinstance(message, m.ReviewReturned):
        reason = message.note
    elif isinstance(message, m.DeterminationRecorded):
        actor = m.Actor(type=m.ActorType.USER, id=message.decided_by, roles=(message.decided_by_role,))
        reason = message.outcome.value
    elif isinstance(message, m.LetterApproved):
        reason = f"approved by {message.approved_by}"
    elif isinstance(message, m.LetterRejected):
        reason = message.reason
    elif isinstance(message, m.DeliveryFailed):
        reason = f"{message.channel}: {message.error}"
    elif isinstance(message, m.RetryDelivery):
        actor = command_actor(message)  # the person in its on_behalf_of token, never requested_by_roles
    elif isinstance(message, m.RevalidatePacket):
        actor = command_actor(message)
        reason = message.reason
    elif isinstance(message, m.WithdrawPacket):
        actor = command_actor(message)
        reason = message.reason
    return sm.Trigger(kind=message.type, actor=actor, at=message.occurred_at, message=message, reason=reason)


def make_handlers(ctx: Intake) -> dict[str, Callable[[Any], Awaitable[None]]]:
    """One handler per message type intake consumes (topology.INTAKE)."""
    return {i.message.TYPE: _handler(ctx, topology.INTAKE.inbox_key(i)) for i in topology.INTAKE.interests}


def _handler(ctx: Intake, inbox_key: str) -> Callable[[Any], Awaitable[None]]:
    async def handle(message: m.Message) -> None:
        if message.packet_id is None:
            log.warning("message without packet id ignored", extra={"message_id": str(message.message_id)})
            return
        if isinstance(message, m.UtnAssigned):
            result = await assign_utn(ctx.uow, inbox_key, message)
        elif isinstance(message, m.ReviewReassigned | m.ReviewReclassified):
            result = await change_in_place(ctx.uow, inbox_key, message)  # no state change (STATE_MACHINE.md)
        else:
            result = await apply_bus_trigger(ctx.uow, inbox_key, message, trigger_for(message))
            if isinstance(message, m.LetterDrafted) and isinstance(result, Applied):
                await remember_letter(ctx.uow, message)
        if isinstance(result, Early):
            # Legal once the packet gets where it is heading (STATE_MACHINE.md, "Early is not illegal").
            raise Defer(result.reason)
        log.info(
            "trigger handled",
            extra={"queue": inbox_key, "message_id": str(message.message_id), "result": type(result).__name__},
        )

    return handle
