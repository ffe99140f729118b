"""Drafting a packet's letter set (T13): read the packet and the determination, build, check, render, store, report.

Peers and rendering happen before the transaction; the transaction records the new version, the consumed message
and what letters says about it, or nothing at all.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from wiser_contracts import messages as m

from ..domain import letter_set as ls
from ..domain.model import (
    Dismissal,
    Kind,
    MissingData,
    Recipient,
    build_letters,
)
from .context import SYSTEM, Letters, Outcome
from .drawing import Drawn, blocked_reason, draw, letter_version
from .errors import Conflict, NotYet
from .ports import (
    ApprovalRecord,
    PacketInfo,
    SetRecord,
    VersionRecord,
)

log = logging.getLogger("wiser.letters")


# ----------------------------------------------------------------------------------- the decision letters


async def _inputs(
    ctx: Letters, info: PacketInfo
) -> tuple[dict[str, Any], dict[str, Any] | None, Dismissal | None, dict[str, str]]:
    """The packet (intake), the determination (clinical) or the dismissal's reason and action (validation)."""
    packet = await ctx.intake.packet(info.packet_id)
    outcome = info.outcome or (packet.get("determination") or {}).get("outcome")
    descriptions = await ctx.reference.descriptions()
    if outcome == m.Outcome.DISMISSED:
        dismissal = packet.get("dismissal") or {}
        code = str(dismissal.get("code") or "")
        reasons = await ctx.reference.dismissal_reasons()
        ref = reasons.get(code, {})
        found = Dismissal(
            code=code,
            reason=ref.get("reason") or str(dismissal.get("reason") or ""),
            corrective_action=ref.get("corrective_action", ""),
        )
        return packet, None, found, descriptions
    determination = await ctx.clinical.determination(info.packet_id)
    if determination is None:
        raise NotYet("clinical has no determination for this packet yet")
    if not determination.get("peer_to_peer") and ctx.default_peer_to_peer:
        determination = {**determination, "peer_to_peer": ctx.default_peer_to_peer}
    return packet, determination, None, descriptions


async def draft_decision(
    ctx: Letters,
    packet_id: uuid.UUID,
    *,
    action: str,
    actor: str,
    message: m.Message | None = None,
    inbox_key: str | None = None,
    info_update: Callable[[PacketInfo | None], PacketInfo] | None = None,
) -> Outcome | None:
    """Draft (or redraft) the packet's decision letters as a new version of its set.

    Returns None when nothing was to be done (a duplicate message, a merits decision still waiting for its UTN,
    a set that is already drafted or approved and no person asked for a redraft).
    """
    if message is not None and inbox_key and await handled_before(ctx, message, inbox_key):
        return None
    async with ctx.uow() as uow:
        info = await uow.repo.get_packet(packet_id)
        if info_update:
            info = info_update(info)
        current = None
        if info is not None and info.outcome:
            kind = _kind(info.outcome)
            current = await uow.repo.get_set(ls.set_id_for(packet_id, kind))
    if info is None or info.state != m.PacketState.DETERMINED or not info.outcome:
        await record_only(ctx, info, message, inbox_key)
        return None
    kind = _kind(info.outcome)
    if actor == SYSTEM and not ls.should_draft(ls.Status(current.status) if current else None):
        await record_only(ctx, info, message, inbox_key)
        return None
    if kind != Kind.DISMISSAL and not info.utn:
        # Intake tells us when it records the UTN (intake.packet.utn_recorded); clinical's determination may
        # already carry it (the MAC answered before this transition reached us).
        determination = await ctx.clinical.determination(packet_id)
        if determination and determination.get("utn"):
            info.utn = str(determination["utn"])
        else:
            log.info("decision letters wait for the UTN", extra={"packet_id": str(packet_id)})
            await record_only(ctx, info, message, inbox_key)
            return None

    set_id = ls.set_id_for(packet_id, kind)
    version = (current.version if current else 0) + 1
    texts_version, texts = await current_template(ctx)
    at = ctx.clock()
    drawn: dict[str, Drawn] = {}
    missing: str | None = None
    packet: dict[str, Any] = {}
    try:
        packet, determination, dismissal, descriptions = await _inputs(ctx, info)
        req, ben = build_letters(
            packet=packet,
            determination=determination,
            dismissal=dismissal,
            descriptions=descriptions,
            contact=ctx.contact,
            template_version=texts_version,
            letter_date=at.date(),
            utn=info.utn,
            paragraphs=current.paragraphs if current else None,
        )
        letter_ids = {r: ls.letter_id_for(set_id, r) for r in Recipient}
        results = await asyncio.gather(
            draw(ctx, req, texts, letter_ids[Recipient.REQUESTER], version),
            draw(ctx, ben, texts, letter_ids[Recipient.BENEFICIARY], version),
        )
        drawn = {Recipient.REQUESTER.value: results[0], Recipient.BENEFICIARY.value: results[1]}
    except MissingData as e:
        missing = f"cannot build the letters: {e}"
    reason = missing or blocked_reason(drawn) or None
    status = ls.Status.BLOCKED if reason else ls.Status.DRAFTED

    async with ctx.uow() as uow:
        if message is not None and inbox_key and not await uow.seen(message.message_id, inbox_key):
            return None
        await uow.repo.put_packet(info)
        now_set = await uow.repo.get_set(set_id, lock=True)
        if (now_set.version if now_set else 0) != version - 1:
            raise Conflict("the letter set changed meanwhile")
        record = SetRecord(
            id=set_id,
            packet_id=packet_id,
            kind=kind.value,
            version=version,
            status=status.value,
            created_at=now_set.created_at if now_set else at,
            updated_at=at,
            letters={r.value: ls.letter_id_for(set_id, r) for r in Recipient},
            blocked_reason=reason,
            template_version=texts_version,
            tracking_number=str(packet.get("tracking_number") or "") or (now_set.tracking_number if now_set else None),
            due_at=info.due_at or _due(packet),
            paragraphs=now_set.paragraphs if now_set else {},
        )
        await uow.repo.put_set(record)
        await uow.repo.add_version(
            VersionRecord(
                set_id=set_id,
                version=version,
                action=action if status == ls.Status.DRAFTED else "blocked",
                status=status.value,
                actor=actor,
                created_at=at,
                reason=reason,
                template_version=texts_version,
                packet_version=info.version,
                letters=[letter_version(record.letters[who], who, version, d, at) for who, d in sorted(drawn.items())],
            )
        )
        if status == ls.Status.DRAFTED:
            requester_id = record.letters[Recipient.REQUESTER.value]
            await uow.emit(
                m.LetterDrafted(
                    packet_id=packet_id,
                    producer=SYSTEM,
                    letter_id=requester_id,
                    kind=kind.value,
                    letter_version=version,
                    packet_version=info.version,
                )
            )
            if ctx.auto_approve_affirmations and not ls.needs_person(kind):
                await uow.repo.add_approval(
                    ApprovalRecord(set_id, version, "approved", ls.POLICY_APPROVER, at, reason="policy")
                )
                record.status = ls.Status.APPROVED.value
                await uow.repo.put_set(record)
                await uow.emit(
                    m.LetterApproved(
                        packet_id=packet_id,
                        producer=SYSTEM,
                        letter_id=requester_id,
                        approved_by=ls.POLICY_APPROVER,
                        packet_version=info.version,
                    )
                )
        await uow.commit()
    log.info("letter set drawn", extra={"packet_id": str(packet_id), "version": version, "status": status.value})
    return Outcome(record.status, version, set_id, reason)


def _due(packet: dict[str, Any]) -> datetime | None:
    raw = packet.get("due_at")
    return datetime.fromisoformat(raw) if raw else None


def _kind(outcome: str) -> Kind:
    from ..domain.model import KIND_OF_OUTCOME

    return KIND_OF_OUTCOME[outcome]


async def handled_before(ctx: Letters, message: m.Message, inbox_key: str) -> bool:
    """A duplicate is known before any peer is asked or any PDF drawn (the insert is rolled back; the real
    record is made with the effect)."""
    async with ctx.uow() as uow:
        return not await uow.seen(message.message_id, inbox_key)


async def current_template(ctx: Letters) -> tuple[str, dict[str, str]]:
    async with ctx.uow() as uow:
        return await uow.repo.template(None)


async def record_only(ctx: Letters, info: PacketInfo | None, message: m.Message | None, inbox_key: str | None) -> None:
    """Remember what the message said about the packet (and that it was handled), draft nothing."""
    async with ctx.uow() as uow:
        if message is not None and inbox_key and not await uow.seen(message.message_id, inbox_key):
            return None
        if info is not None:
            await uow.repo.put_packet(info)
        await uow.commit()
    return None


async def sweep_waiting_for_utn(ctx: Letters, limit: int = 50) -> int:
    """Merits decisions still waiting for their UTN: draft those whose UTN clinical now knows (should intake's
    `utn_recorded` be late or lost). Returns how many sets were drawn."""
    async with ctx.uow() as uow:
        waiting = await uow.repo.waiting_for_utn(limit)
    drawn = 0
    for packet_id in waiting:
        try:
            out = await draft_decision(ctx, packet_id, action="drafted", actor=SYSTEM)
        except (NotYet, Conflict):
            continue
        except Exception:  # a peer down: the next sweep tries again
            log.warning("UTN sweep failed for a packet", extra={"packet_id": str(packet_id)}, exc_info=True)
            continue
        drawn += out is not None
    return drawn
