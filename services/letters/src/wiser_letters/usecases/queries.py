"""Reading letter sets, their history and their PDFs; every read is audited (who, what, which version, when)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from ..domain import letter_set as ls
from ..domain.compose import compose
from ..domain.document import Para
from ..domain.model import Kind, model_from_json
from .context import Letters
from .errors import NotFound
from .ports import Caller, SetRecord, VersionRecord, ViewRecord

INTAKE = "intake"  # intake fetches letters for partners: approved versions only

log = logging.getLogger("wiser.letters.queries")


def _iso(v: Any) -> str | None:
    return v.isoformat() if v is not None else None


async def _audit(ctx: Letters, caller: Caller, what: str, outcome: str, **kw: Any) -> None:
    async with ctx.uow() as uow:
        await uow.repo.add_view(
            ViewRecord(
                what=what,
                viewer=caller.id,
                roles=",".join(sorted(caller.roles)),
                outcome=outcome,
                at=ctx.clock(),
                on_behalf_of=caller.on_behalf_of,
                **kw,
            )
        )
        await uow.commit()


def editable(model: dict[str, Any], texts: dict[str, str]) -> dict[str, str]:
    """The free-text paragraphs a person may rewrite, as the letter says them now."""
    doc = compose(model_from_json(model), texts)
    return {b.name: b.text for b in doc.blocks if isinstance(b, Para) and b.name}


def set_json(s: SetRecord, v: VersionRecord | None, texts: dict[str, str] | None = None) -> dict[str, Any]:
    letters = {lv.recipient: lv for lv in (v.letters if v else [])}
    return {
        "packet_id": str(s.packet_id),
        "set_id": str(s.id),
        "version": s.version,
        "status": s.status,
        "kind": s.kind,
        "blocked_reason": s.blocked_reason,
        "template_version": s.template_version,
        "tracking_number": s.tracking_number,
        "due_at": _iso(s.due_at),
        "updated_at": _iso(s.updated_at),
        "paragraphs": s.paragraphs,
        "letters": [
            {
                "letter_id": str(letter_id),
                "recipient": recipient,
                "version": s.version,
                "sha256": letters[recipient].sha256 if recipient in letters else None,
                "pages": letters[recipient].pages if recipient in letters else None,
                "status": s.status,
                "checks": letters[recipient].checks if recipient in letters else [],
                "paragraphs": editable(letters[recipient].model, texts) if recipient in letters and texts else {},
            }
            for recipient, letter_id in sorted(s.letters.items(), key=lambda x: x[0] != "requester")
        ],
    }


async def _with_version(ctx: Letters, s: SetRecord) -> dict[str, Any]:
    async with ctx.uow() as uow:
        versions = await uow.repo.versions(s.id)
        texts = (await uow.repo.template(s.template_version))[1] if s.template_version else None
    current = next((v for v in versions if v.version == s.version), None)
    return set_json(s, current, texts)


async def by_packet(ctx: Letters, packet_id: uuid.UUID, caller: Caller, kind: str = "decision") -> dict[str, Any]:
    async with ctx.uow() as uow:
        sets = await uow.repo.sets_of_packet(packet_id)
        info = await uow.repo.get_packet(packet_id)
    notice = Kind.RECLASSIFICATION_NOTICE.value
    found = [s for s in sets if (s.kind == notice) == (kind == "notice")]
    if not found:
        await _audit(ctx, caller, "set", "not_found")
        waiting = (
            info is not None and info.state == "determined" and info.outcome not in (None, "dismissed") and not info.utn
        )
        detail = "The letters wait for the MAC's UTN." if waiting else "No letters for this packet (yet)."
        raise NotFound("LETTERS_NOT_DRAFTED", detail)
    await _audit(ctx, caller, "set", "ok", set_id=found[0].id, version=found[0].version)
    return await _with_version(ctx, found[0])


async def get_set(ctx: Letters, set_id: uuid.UUID, caller: Caller) -> dict[str, Any]:
    async with ctx.uow() as uow:
        s = await uow.repo.get_set(set_id)
    if s is None:
        raise NotFound("LETTER_SET_NOT_FOUND", "No such letter set.")
    await _audit(ctx, caller, "set", "ok", set_id=s.id, version=s.version)
    return await _with_version(ctx, s)


async def history(ctx: Letters, set_id: uuid.UUID, caller: Caller) -> dict[str, Any]:
    async with ctx.uow() as uow:
        s = await uow.repo.get_set(set_id)
        if s is None:
            raise NotFound("LETTER_SET_NOT_FOUND", "No such letter set.")
        versions = await uow.repo.versions(set_id)
        approvals = await uow.repo.approvals(set_id)
    await _audit(ctx, caller, "history", "ok", set_id=set_id, version=s.version)
    return {
        "set_id": str(set_id),
        "packet_id": str(s.packet_id),
        "versions": [
            {
                "version": v.version,
                "action": v.action,
                "status": v.status,
                "actor": v.actor,
                "reason": v.reason,
                "template_version": v.template_version,
                "packet_version": v.packet_version,
                "at": _iso(v.created_at),
                "letters": [
                    {
                        "letter_id": str(lv.letter_id),
                        "recipient": lv.recipient,
                        "sha256": lv.sha256,
                        "pages": lv.pages,
                        "passed": lv.passed,
                    }
                    for lv in v.letters
                ],
            }
            for v in versions
        ],
        "approvals": [
            {
                "version": a.version,
                "decision": a.decision,
                "by": a.by,
                "role": a.role,
                "reason": a.reason,
                "at": _iso(a.at),
            }
            for a in approvals
        ],
    }


async def pending(ctx: Letters, caller: Caller, statuses: tuple[str, ...], limit: int) -> dict[str, Any]:
    """Sets awaiting a person (drafted) or blocked, the least time left first."""
    async with ctx.uow() as uow:
        sets = await uow.repo.list_sets(statuses, limit)
    await _audit(ctx, caller, "list", "ok")
    now = ctx.clock()
    return {
        "items": [
            {
                "set_id": str(s.id),
                "packet_id": str(s.packet_id),
                "tracking_number": s.tracking_number,
                "kind": s.kind,
                "version": s.version,
                "status": s.status,
                "blocked_reason": s.blocked_reason,
                "due_at": _iso(s.due_at),
                "seconds_left": int((s.due_at - now).total_seconds()) if s.due_at else None,
                "needs_person": ls.needs_person(Kind(s.kind)),
                "updated_at": _iso(s.updated_at),
            }
            for s in sets
        ]
    }


async def pdf(ctx: Letters, letter_id: uuid.UUID, version: int | None, caller: Caller) -> tuple[bytes, int]:
    """A letter version's PDF. Intake (for partners) gets approved versions only; others any version."""
    approved_only = caller.service == INTAKE
    async with ctx.uow() as uow:
        found = await uow.repo.set_of_letter(letter_id)
        if found is None:
            await _audit(ctx, caller, "pdf", "not_found", letter_id=letter_id, version=version)
            raise NotFound("LETTER_NOT_FOUND", "No such letter.")
        s, _recipient = found
        wanted = version or s.version
        if approved_only:
            approved = [a.version for a in await uow.repo.approvals(s.id) if a.decision == "approved"]
            if not approved or (version is not None and version not in approved):
                wanted = -1
            elif version is None:
                wanted = max(approved)
        lv = await uow.repo.letter_version(letter_id, wanted) if wanted > 0 else None
    if lv is None or not lv.object_key:
        await _audit(ctx, caller, "pdf", "not_available", set_id=s.id, letter_id=letter_id, version=version)
        raise NotFound("LETTER_NOT_AVAILABLE", "No approved version of this letter." if approved_only else "No PDF.")
    try:
        data = await ctx.store.get(lv.object_key)
    except LookupError:
        # The row says it was stored, but storage no longer has it (a bucket lost or emptied): say so plainly.
        log.error("letter PDF missing from storage", extra={"letter_id": str(letter_id), "version": lv.version})
        await _audit(ctx, caller, "pdf", "missing", set_id=s.id, letter_id=letter_id, version=lv.version)
        raise NotFound(
            "LETTER_PDF_MISSING", "This letter's PDF is not in storage; drawing the set again makes a new one."
        ) from None
    await _audit(ctx, caller, "pdf", "ok", set_id=s.id, letter_id=letter_id, version=lv.version)
    return data, lv.version
