"""Drafting a packet's letter set (T13): read the packet and the determination, build, check, render, store, report.

Peers and rendering happen before the transaction; the transaction records the new version, the consumed message
and what letters says about it, or nothing at all.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from wiser_contracts import messages as m

from ..domain import letter_set as ls
from ..domain.checks import CheckResult, check_letter, failures
from ..domain.compose import compose
from ..domain.document import Document
from ..domain.model import (
    Contact,
    Dismissal,
    Kind,
    LetterModel,
    MissingData,
    Recipient,
    build_letters,
    build_reclassification_notice,
    model_to_json,
)
from .errors import Conflict, NotYet
from .ports import (
    ApprovalRecord,
    ClinicalPort,
    Clock,
    IntakePort,
    LetterVersionRecord,
    ObjectStore,
    PacketInfo,
    ReferencePort,
    Renderer,
    SetRecord,
    UnitOfWork,
    VersionRecord,
)

log = logging.getLogger("wiser.letters")
SYSTEM = "letters"


@dataclass
class Letters:
    """Letters' use-case context: its unit of work, peers, store, renderer, clock and policy."""

    uow: Callable[[], UnitOfWork]
    intake: IntakePort
    clinical: ClinicalPort
    reference: ReferencePort
    store: ObjectStore
    render: Renderer
    clock: Clock
    contact: Contact
    auto_approve_affirmations: bool = False
    default_peer_to_peer: dict[str, str] = field(default_factory=dict)


@dataclass
class Drawn:
    """One letter of a version, composed, checked and (if it passed) rendered."""

    model: LetterModel
    document: Document
    checks: list[CheckResult]
    pdf: bytes | None = None
    pages: int | None = None
    sha256: str | None = None


def _now(ctx: Letters) -> datetime:
    return ctx.clock()


# --------------------------------------------------------------------------------------- drawing letters


async def draw(ctx: Letters, model: LetterModel, texts: dict[str, str], letter_id: uuid.UUID, version: int) -> Drawn:
    """Compose and check one letter; render and store it only if every check passed."""
    doc = compose(model, texts)
    results = check_letter(model, doc)
    drawn = Drawn(model, doc, results)
    if not failures(results):
        pdf = ctx.render(doc)
        drawn.pdf, drawn.pages, drawn.sha256 = pdf, page_count(pdf), hashlib.sha256(pdf).hexdigest()
        await ctx.store.put(ls.object_key(letter_id, version), pdf, drawn.sha256)
    return drawn


def page_count(pdf: bytes) -> int:
    """Pages of a PDF we rendered (its page tree's /Count)."""
    counts = [int(x) for x in re.findall(rb"/Count (\d+)", pdf)]
    return max(counts) if counts else 0


def _letter_version(letter_id: uuid.UUID, recipient: str, version: int, d: Drawn, at: datetime) -> LetterVersionRecord:
    return LetterVersionRecord(
        letter_id=letter_id,
        recipient=recipient,
        version=version,
        passed=not failures(d.checks),
        model=model_to_json(d.model),
        checks=[r.as_dict() for r in d.checks],
        created_at=at,
        object_key=ls.object_key(letter_id, version) if d.pdf is not None else None,
        sha256=d.sha256,
        size=len(d.pdf) if d.pdf is not None else None,
        pages=d.pages,
    )


def blocked_reason(drawn: dict[str, Drawn]) -> str:
    return "; ".join(f"{who}: {r.detail}" for who, d in drawn.items() for r in failures(d.checks))


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


@dataclass
class Outcome:
    status: str
    version: int
    set_id: uuid.UUID
    reason: str | None = None


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
    if message is not None and inbox_key and await _handled_before(ctx, message, inbox_key):
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
        await _record_only(ctx, info, message, inbox_key)
        return None
    kind = _kind(info.outcome)
    if actor == SYSTEM and not ls.should_draft(ls.Status(current.status) if current else None):
        await _record_only(ctx, info, message, inbox_key)
        return None
    if kind != Kind.DISMISSAL and not info.utn:
        # Intake tells us when it records the UTN (intake.packet.utn_recorded); clinical's determination may
        # already carry it (the MAC answered before this transition reached us).
        determination = await ctx.clinical.determination(packet_id)
        if determination and determination.get("utn"):
            info.utn = str(determination["utn"])
        else:
            log.info("decision letters wait for the UTN", extra={"packet_id": str(packet_id)})
            await _record_only(ctx, info, message, inbox_key)
            return None

    set_id = ls.set_id_for(packet_id, kind)
    version = (current.version if current else 0) + 1
    texts_version, texts = await _template(ctx)
    at = _now(ctx)
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
                letters=[_letter_version(record.letters[who], who, version, d, at) for who, d in sorted(drawn.items())],
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


async def _handled_before(ctx: Letters, message: m.Message, inbox_key: str) -> bool:
    """A duplicate is known before any peer is asked or any PDF drawn (the insert is rolled back; the real
    record is made with the effect)."""
    async with ctx.uow() as uow:
        return not await uow.seen(message.message_id, inbox_key)


async def _template(ctx: Letters) -> tuple[str, dict[str, str]]:
    async with ctx.uow() as uow:
        return await uow.repo.template(None)


async def _record_only(ctx: Letters, info: PacketInfo | None, message: m.Message | None, inbox_key: str | None) -> None:
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


# ------------------------------------------------------------------------------------ bus entrypoints' cases


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
    if await _handled_before(ctx, message, inbox_key):
        return None
    async with ctx.uow() as uow:
        current = await uow.repo.get_set(set_id)
        info = await uow.repo.get_packet(pid)
    version = (current.version if current else 0) + 1
    texts_version, texts = await _template(ctx)
    at = _now(ctx)
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
                letters=[_letter_version(letter_id, Recipient.REQUESTER.value, version, drawn, at)],
            )
        )
        if status == ls.Status.APPROVED:
            await uow.repo.add_approval(ApprovalRecord(set_id, version, "approved", ls.NOTICE_APPROVER, at))
        await uow.commit()
    return Outcome(status.value, version, set_id, reason)
