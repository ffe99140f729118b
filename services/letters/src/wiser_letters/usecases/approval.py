"""People act on a drafted set (T14/T15): approve it, reject it with a reason, rewrite its free-text paragraphs (a new
version), or redraft a blocked one once its data or template is fixed."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace

from wiser_contracts import messages as m

from ..domain import letter_set as ls
from ..domain.checks import failures
from ..domain.compose import EDITABLE
from ..domain.model import Recipient, model_from_json
from .context import SYSTEM, Letters, Outcome
from .drafting import draft_decision
from .drawing import blocked_reason, draw, letter_version
from .errors import Forbidden, Invalid, NotAllowed, NotFound
from .ports import ApprovalRecord, Caller, SetRecord, VersionRecord

MAX_PARAGRAPH = 4000


def _approver(caller: Caller) -> str:
    role = ls.approver_role(caller.roles)
    if caller.service or role is None:
        raise Forbidden(
            "LETTER_APPROVER_REQUIRED", "Only a clinical reviewer, medical director or supervisor may do this."
        )
    return role


def _current(s: SetRecord | None, version: int | None) -> SetRecord:
    if s is None or s.kind == "reclassification_notice":
        raise NotFound("LETTER_SET_NOT_FOUND", "No such letter set.")
    if version is not None and version != s.version:
        raise NotAllowed("LETTER_VERSION_STALE", f"Version {version} is not the set's current version ({s.version}).")
    return s


async def approve(ctx: Letters, set_id: uuid.UUID, version: int, caller: Caller) -> SetRecord:
    role = _approver(caller)
    async with ctx.uow() as uow:
        s = _current(await uow.repo.get_set(set_id, lock=True), version)
        if s.status != ls.Status.DRAFTED:
            raise NotAllowed("LETTER_NOT_DRAFTED", f"The set is {s.status}; only a drafted set can be approved.")
        info = await uow.repo.get_packet(s.packet_id)
        at = ctx.clock()
        await uow.repo.add_approval(ApprovalRecord(set_id, version, "approved", caller.id, at, role=role))
        s.status, s.updated_at = ls.Status.APPROVED.value, at
        await uow.repo.put_set(s)
        await uow.emit(
            m.LetterApproved(
                packet_id=s.packet_id,
                producer=SYSTEM,
                letter_id=s.letters[Recipient.REQUESTER.value],
                approved_by=caller.id,
                approver_role=role,
                packet_version=info.version if info else None,
            )
        )
        await uow.commit()
    return s


async def reject(ctx: Letters, set_id: uuid.UUID, version: int, reason: str, caller: Caller) -> SetRecord:
    """T15: the packet goes back to `determined`; its transition makes letters redraft (a new version)."""
    role = _approver(caller)
    if not reason.strip():
        raise Invalid(
            "REASON_REQUIRED", "Say why the letter is rejected.", errors=[{"field": "reason", "code": "REQUIRED"}]
        )
    async with ctx.uow() as uow:
        s = _current(await uow.repo.get_set(set_id, lock=True), version)
        if s.status != ls.Status.DRAFTED:
            raise NotAllowed("LETTER_NOT_DRAFTED", f"The set is {s.status}; only a drafted set can be rejected.")
        info = await uow.repo.get_packet(s.packet_id)
        at = ctx.clock()
        await uow.repo.add_approval(
            ApprovalRecord(set_id, version, "rejected", caller.id, at, role=role, reason=reason)
        )
        s.status, s.updated_at = ls.Status.REJECTED.value, at
        await uow.repo.put_set(s)
        await uow.emit(
            m.LetterRejected(
                packet_id=s.packet_id,
                producer=SYSTEM,
                letter_id=s.letters[Recipient.REQUESTER.value],
                rejected_by=caller.id,
                reason=reason.strip(),
                packet_version=info.version if info else None,
            )
        )
        await uow.commit()
    return s


def _clean_edits(paragraphs: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for recipient, named in paragraphs.items():
        if recipient not in {r.value for r in Recipient}:
            raise Invalid("UNKNOWN_RECIPIENT", f"No {recipient!r} letter in a set.")
        for name, text in named.items():
            if name not in EDITABLE:
                raise Invalid(
                    "NOT_EDITABLE", f"Only the free-text paragraphs ({', '.join(EDITABLE)}) may be rewritten."
                )
            if len(text) > MAX_PARAGRAPH:
                raise Invalid("TOO_LONG", f"A paragraph holds at most {MAX_PARAGRAPH} characters.")
        out[recipient] = {k: v.strip() for k, v in named.items()}
    return out


async def edit(
    ctx: Letters, set_id: uuid.UUID, version: int, paragraphs: dict[str, dict[str, str]], caller: Caller
) -> Outcome:
    """Rewrite free-text paragraphs: a new version of the set, checked and rendered; refused if it fails a check."""
    _approver(caller)
    edits = _clean_edits(paragraphs)
    async with ctx.uow() as uow:
        s = _current(await uow.repo.get_set(set_id), version)
        if s.status != ls.Status.DRAFTED:
            raise NotAllowed("LETTER_NOT_DRAFTED", f"The set is {s.status}; only a drafted set can be edited.")
        previous = {
            lv.recipient: lv for v in await uow.repo.versions(set_id) if v.version == version for lv in v.letters
        }
        _, texts = await uow.repo.template(s.template_version)
        info = await uow.repo.get_packet(s.packet_id)
    merged = {r: {**s.paragraphs.get(r, {}), **edits.get(r, {})} for r in previous}
    new_version = version + 1
    models = {
        r: replace(model_from_json(lv.model), paragraphs={k: v for k, v in merged[r].items() if v})
        for r, lv in previous.items()
    }
    drawn_list = await asyncio.gather(*(draw(ctx, models[r], texts, s.letters[r], new_version) for r in sorted(models)))
    drawn = dict(zip(sorted(models), drawn_list, strict=True))
    problem = blocked_reason(drawn)
    if problem:
        raise Invalid(
            "LETTER_CHECK_FAILED",
            f"The edited letter fails its checks: {problem}",
            errors=[{"field": who, **r.as_dict()} for who, d in drawn.items() for r in failures(d.checks)],
        )
    at = ctx.clock()
    async with ctx.uow() as uow:
        now = _current(await uow.repo.get_set(set_id, lock=True), version)
        if now.status != ls.Status.DRAFTED:
            raise NotAllowed("LETTER_NOT_DRAFTED", f"The set is {now.status}; only a drafted set can be edited.")
        now.version, now.updated_at, now.paragraphs = new_version, at, merged
        await uow.repo.put_set(now)
        await uow.repo.add_version(
            VersionRecord(
                set_id=set_id,
                version=new_version,
                action="edited",
                status=ls.Status.DRAFTED.value,
                actor=caller.id,
                created_at=at,
                template_version=now.template_version,
                packet_version=info.version if info else None,
                letters=[letter_version(now.letters[r], r, new_version, d, at) for r, d in sorted(drawn.items())],
            )
        )
        await uow.commit()
    return Outcome(ls.Status.DRAFTED.value, new_version, set_id)


async def redraft(ctx: Letters, set_id: uuid.UUID, caller: Caller) -> Outcome:
    """A blocked set, once its data or template is fixed: one action draws it again (a new version)."""
    _approver(caller)
    async with ctx.uow() as uow:
        s = await uow.repo.get_set(set_id)
    s = _current(s, None)
    if s.status != ls.Status.BLOCKED:
        raise NotAllowed("LETTER_NOT_BLOCKED", f"The set is {s.status}; only a blocked set is redrafted by hand.")
    out = await draft_decision(ctx, s.packet_id, action="redrafted", actor=caller.id)
    if out is None:
        raise NotAllowed("LETTER_NOT_READY", "The packet is not determined, or its UTN is not known yet.")
    return out
