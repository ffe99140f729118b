"""What letters does with the bus's messages: a transition into `determined` drafts, a recorded UTN
releases a waiting draft, a reclassification sends the notice."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from wiser_contracts import messages as m

from ..domain import letter_set as ls
from ..domain.model import (
    Kind,
    Recipient,
    build_reclassification_notice,
)
from .context import SYSTEM, Letters, Outcome
from .drafting import current_template, draft_decision, handled_before
from .drawing import blocked_reason, draw, letter_version
from .ports import (
    ApprovalRecord,
    PacketInfo,
    SetRecord,
    VersionRecord,
)


def _merge(info: PacketInfo | None, packet_id: uuid.UUID, **changes: Any) -> PacketInfo:
    base = info or PacketInfo(packet_id=packet_id, state="unknown", version=0)
    version = changes.pop("version", None)
    updated = replace(base, **{k: v for k, v in changes.items() if v is not None})
    if version is not None:
        updated.version = max(base.version, version)
    return updated


async def on_transition(ctx: Letters, message: m.PacketTransitioned, inbox_key: str) -> Outcome | None:
    """A transition letters acts on: entering `determined` drafts (again after a rejection); others are noted."""
    assert message.packet_id is not None
    pid = message.packet_id

    def update(info: PacketInfo | None) -> PacketInfo:
        if info is not None and info.version > message.version and info.state != "unknown":
            return info  # an older transition (e.g. re-announced): what we know is newer
        return _merge(
            info,
            pid,
            state=message.to_state.value,
            version=message.version,
            outcome=message.outcome.value if message.outcome else None,
            utn=message.utn,
        )

    action = "redrafted" if message.transition == "T15" else "drafted"
    return await draft_decision(
        ctx, pid, action=action, actor=SYSTEM, message=message, inbox_key=inbox_key, info_update=update
    )


async def on_utn_recorded(ctx: Letters, message: m.PacketUtnRecorded, inbox_key: str) -> Outcome | None:
    """The MAC's UTN is known: a determined merits decision that waited for it is drafted now."""
    assert message.packet_id is not None
    pid = message.packet_id

    def update(info: PacketInfo | None) -> PacketInfo:
        merged = _merge(info, pid, utn=message.utn)
        merged.version = max(merged.version, message.version)
        return merged

    return await draft_decision(
        ctx, pid, action="drafted", actor=SYSTEM, message=message, inbox_key=inbox_key, info_update=update
    )


async def on_reclassified(ctx: Letters, message: m.PacketReclassified, inbox_key: str) -> Outcome | None:
    """An expedited request is now standard: the requester gets a notice (no approval needed: it decides nothing)."""
    assert message.packet_id is not None
    pid = message.packet_id
    kind = Kind.RECLASSIFICATION_NOTICE
    set_id = ls.set_id_for(pid, kind)
    if await handled_before(ctx, message, inbox_key):
        return None
    async with ctx.uow() as uow:
        current = await uow.repo.get_set(set_id)
        info = await uow.repo.get_packet(pid)
    version = (current.version if current else 0) + 1
    texts_version, texts = await current_template(ctx)
    at = ctx.clock()
    packet = await ctx.intake.packet(pid)
    model = build_reclassification_notice(
        packet=packet,
        contact=ctx.contact,
        template_version=texts_version,
        letter_date=at.date(),
        due_at=message.due_at,
        reason=message.reason or "",
    )
    letter_id = ls.letter_id_for(set_id, Recipient.REQUESTER)
    drawn = await draw(ctx, model, texts, letter_id, version)
    reason = blocked_reason({Recipient.REQUESTER.value: drawn}) or None
    status = ls.Status.BLOCKED if reason else ls.Status.APPROVED
    async with ctx.uow() as uow:
        if not await uow.seen(message.message_id, inbox_key):
            return None
        info = _merge(info, pid, review_type=message.review_type, due_at=message.due_at, version=message.version)
        await uow.repo.put_packet(info)
        record = SetRecord(
            id=set_id,
            packet_id=pid,
            kind=kind.value,
            version=version,
            status=status.value,
            created_at=current.created_at if current else at,
            updated_at=at,
            letters={Recipient.REQUESTER.value: letter_id},
            blocked_reason=reason,
            template_version=texts_version,
            tracking_number=str(packet.get("tracking_number") or ""),
            due_at=message.due_at,
        )
        await uow.repo.put_set(record)
        await uow.repo.add_version(
            VersionRecord(
                set_id=set_id,
                version=version,
                action="drafted" if not reason else "blocked",
                status=status.value,
                actor=SYSTEM,
                created_at=at,
                reason=reason,
                template_version=texts_version,
                packet_version=message.version,
                letters=[letter_version(letter_id, Recipient.REQUESTER.value, version, drawn, at)],
            )
        )
        if status == ls.Status.APPROVED:
            await uow.repo.add_approval(ApprovalRecord(set_id, version, "approved", ls.NOTICE_APPROVER, at))
        await uow.commit()
    return Outcome(status.value, version, set_id, reason)
