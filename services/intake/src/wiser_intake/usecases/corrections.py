"""Ops commands on a packet in review: corrections (T5), dismissal (T6), withdrawal (T19)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from pydantic import ValidationError

from wiser_contracts import messages as m
from wiser_servicekit.identity import Identity

from ..domain import state_machine as sm
from ..domain.packet import CORRECTABLE, PacketIn, get_path, set_path
from .common import _actor, _raise_for
from .context import Intake
from .errors import Invalid
from .ports import UnitOfWork
from .transitions import Result, apply_and_commit


def _current_doc(row: Any, lines: list[Any], dx: list[str]) -> dict[str, Any]:
    return {
        "external_ref": row.external_ref,
        "submission_type": row.submission_type,
        "previous_utn": row.previous_utn,
        "review_type": row.review_type,
        "expedited_reason": row.expedited_reason,
        "state": row.state_of_service,
        "place_of_service": row.place_of_service,
        "type_of_bill": row.type_of_bill,
        "beneficiary": copy.deepcopy(row.beneficiary),
        "practitioner": copy.deepcopy(row.practitioner),
        "facility": copy.deepcopy(row.facility),
        "requester": copy.deepcopy(row.requester),
        "services": [
            {
                "code": ln.code,
                "units": ln.units,
                "modifiers": list(ln.modifiers),
                "date_of_service": ln.date_of_service.isoformat(),
            }
            for ln in lines
        ],
        "diagnosis_codes": list(dx),
    }


async def correct_packet(
    ctx: Intake, identity: Identity, packet_id: uuid.UUID, if_match: int, changes: list[dict[str, Any]]
) -> Result:
    """T5: apply ops' field corrections (each with a reason), record old/new values, validate again."""
    for c in changes:
        if c.get("field") not in CORRECTABLE:
            raise Invalid(
                "FIELD_NOT_CORRECTABLE",
                f"{c.get('field')!r} cannot be corrected here.",
                title="Field not correctable",
                errors=[
                    {
                        "field": str(c.get("field")),
                        "code": "FIELD_NOT_CORRECTABLE",
                        "message": "not a correctable field",
                    }
                ],
            )
    at = ctx.clock()
    trigger = sm.Trigger(
        sm.OPS_CORRECT,
        _actor(identity),
        at,
        data={"corrections": changes},
        reason="; ".join(f"{c['field']}: {c.get('reason', '')}" for c in changes)[:1000],
    )

    async def apply_corrections(uow: UnitOfWork, row: Any, move: sm.Move) -> None:
        lines = await uow.packets.lines(packet_id)
        dx = await uow.packets.diagnoses(packet_id)
        doc = _current_doc(row, list(lines), dx)
        olds = []
        for c in changes:
            olds.append(copy.deepcopy(get_path(doc, c["field"])))
            set_path(doc, c["field"], c.get("value"))
        try:
            fixed = PacketIn.model_validate(doc)
        except ValidationError as e:
            raise Invalid(
                "VALIDATION_FAILED",
                "The corrected packet is not well formed.",
                title="Invalid correction",
                model_errors=list(e.errors()),
            ) from e
        await uow.packets.rewrite(packet_id, fixed)
        await uow.history.add_corrections(
            [
                {
                    "packet_id": packet_id,
                    "version": row.version + 1,
                    "field": c["field"],
                    "old_value": old,
                    "new_value": c.get("value"),
                    "reason": c["reason"],
                    "actor_id": identity.user_id,
                    "at": at,
                }
                for c, old in zip(changes, olds, strict=True)
            ]
        )
        await uow.emit(
            m.PacketCorrected(
                packet_id=packet_id,
                producer="intake",
                fields=tuple(c["field"] for c in changes),
                version=row.version + 1,
            ),
        )

    result = await apply_and_commit(
        ctx.uow, packet_id, trigger, before_move=apply_corrections, expected_version=if_match
    )
    _raise_for(result)
    return result


async def dismiss_packet(ctx: Intake, identity: Identity, packet_id: uuid.UUID, code: str, note: str) -> Result:
    """T6: ops dismisses a packet in manual review with a reason code from the reference list in force
    (validation's); the packet keeps the code and the texts it was dismissed with."""
    reasons = await ctx.reference.in_force()
    chosen = reasons.get(code)
    trigger = sm.Trigger(
        sm.OPS_DISMISS,
        _actor(identity),
        ctx.clock(),
        data={
            "code": code,
            "note": note,
            "allowed_codes": tuple(reasons),
            "reason_text": chosen.reason if chosen else "",
            "corrective_action": chosen.corrective_action if chosen else "",
        },
        reason=f"{code}: {note}"[:1000],
    )
    result = await apply_and_commit(ctx.uow, packet_id, trigger)
    _raise_for(result)
    return result


async def withdraw_packet(
    ctx: Intake, packet_id: uuid.UUID, reason: str, *, partner: str | None = None, identity: Identity | None = None
) -> Result:
    """T19: the requester (its own packets) or a supervisor closes a packet before determination."""
    if partner is not None:
        actor = m.Actor(type=m.ActorType.PARTNER, id=partner)
    else:
        assert identity is not None
        actor = _actor(identity)
    trigger = sm.Trigger(sm.WITHDRAW, actor, ctx.clock(), data={}, reason=reason[:1000] or "withdrawn")
    result = await apply_and_commit(ctx.uow, packet_id, trigger, owner=partner)
    _raise_for(result)
    return result
