"""What people and services read: the queue (by time left, with load and risk), a case with its packet and
documents (read from intake, each read recorded), reviewer load, and determinations as letters read them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from wiser_servicekit.identity import Identity

from ..domain import assignment as rules
from ..domain.model import OPEN, Assignment, Case, Status
from . import errors
from .ports import Clinical


def _iso(d: datetime | None) -> str | None:
    return d.isoformat().replace("+00:00", "Z") if d else None


def case_row(ctx: Clinical, case: Case, held: Assignment | None, now: datetime) -> dict[str, Any]:
    open_ = case.status in OPEN
    checklist = ctx.checklists.services.get(case.service_id or "")
    return {
        "packet_id": str(case.packet_id),
        "tracking_number": case.tracking_number,
        "status": case.status.value,
        "stage": case.stage.value,
        "service_id": case.service_id,
        "service_name": checklist.name if checklist else None,
        "codes": case.codes(),
        "state_of_service": case.state_of_service,
        "review_type": case.review_type,
        "urgency": case.urgency,
        "received_at": _iso(case.received_at),
        "due_at": _iso(case.due_at),
        "seconds_left": int((case.due_at - now).total_seconds()),
        "at_risk": open_ and rules.at_risk(case, now, ctx.at_risk_window),
        "assigned_to": held.reviewer_id if held else None,
        "assigned_at": _iso(held.assigned_at) if held else None,
        "unassignable": False,
        "escalated_by": case.escalated_by,
        "packet_version": case.packet_version,
    }


async def queue(
    ctx: Clinical,
    *,
    status: str | None = None,
    state_of_service: str | None = None,
    service_id: str | None = None,
    review_type: str | None = None,
    assigned_to: str | None = None,
    at_risk: bool | None = None,
    unassignable: bool | None = None,
    offset: int = 0,
    limit: int = 100,
) -> dict[str, Any]:
    """The open cases by time left matching the filters, `limit` of them from `offset` (`total`: how many
    match), each saying who holds it and whether anyone eligible could; counts over every open case."""
    now = ctx.now()
    async with ctx.uow() as uow:
        rows = await uow.open_cases()
        reviewers = await uow.reviewers()
        loads = await uow.loads()
    specialties = {sid: c.specialties for sid, c in ctx.checklists.services.items()}
    # Whether anyone could take a case depends only on its stage, state, service and who declined it: thousands
    # of waiting cases share a few of those.
    eligible: dict[tuple[Any, ...], bool] = {}
    out = []
    for case, held in sorted(rows, key=lambda r: rules.queue_key(r[0])):
        row = case_row(ctx, case, held, now)
        if held is None:
            # Nobody eligible even with spare capacity ignored? Then it stays queued and shows as unassignable.
            key = (case.stage, case.state_of_service, case.service_id, frozenset(case.declined_by))
            if key not in eligible:
                relevant = specialties.get(case.service_id or "", frozenset())
                eligible[key] = any(
                    not rules.why_not(r, case, now.date(), 0, relevant)
                    for r in reviewers
                    if r.user_id not in case.declined_by
                )
            row["unassignable"] = not eligible[key]
        if status and row["status"] != status:
            continue
        if state_of_service and case.state_of_service != state_of_service:
            continue
        if service_id and case.service_id != service_id:
            continue
        if review_type and case.review_type != review_type:
            continue
        if assigned_to and row["assigned_to"] != assigned_to:
            continue
        if at_risk is not None and row["at_risk"] != at_risk:
            continue
        if unassignable is not None and row["unassignable"] != unassignable:
            continue
        out.append(row)
    load_rows = [
        {
            "user_id": r.user_id,
            "display_name": r.display_name,
            "role": r.role,
            "active": r.active,
            "load": loads.get(r.user_id, 0),
            "capacity": r.capacity,
        }
        for r in sorted(reviewers, key=lambda r: (r.role, r.user_id))
    ]
    return {
        "cases": out[offset : offset + limit],
        "total": len(out),
        "offset": offset,
        "limit": limit,
        "reviewers": load_rows,
        "counts": {
            "open": len(rows),
            "queued": sum(1 for c, _ in rows if c.status == Status.QUEUED),
            "in_review": sum(1 for c, _ in rows if c.status == Status.IN_REVIEW),
            "md_review": sum(1 for c, _ in rows if c.status == Status.MD_REVIEW),
            "at_risk": sum(1 for r in out if r["at_risk"]),
            "unassignable": sum(1 for r in out if r["unassignable"]),
        },
    }


def _checklist_view(ctx: Clinical, case: Case, answers: dict[str, Any]) -> dict[str, Any] | None:
    checklist = ctx.checklists.services.get(case.service_id or "")
    if checklist is None:
        return None
    return {
        "service_id": checklist.service_id,
        "name": checklist.name,
        "version": checklist.version,
        "policies": list(checklist.policies),
        "items": [
            {
                "criterion_id": c.id,
                "criterion": c.text,
                "policy": c.policy,
                "required": c.required,
                "answer": answers[c.id].answer.value if c.id in answers else None,
                "evidence": [
                    {"document_id": e.document_id, "page": e.page, "quote": e.quote} for e in answers[c.id].evidence
                ]
                if c.id in answers
                else [],
                "note": answers[c.id].note if c.id in answers else "",
                "answered_by": answers[c.id].answered_by if c.id in answers else None,
            }
            for c in checklist.criteria
        ],
    }


async def case_detail(ctx: Clinical, identity: Identity, packet_id: uuid.UUID) -> dict[str, Any]:
    """A case with its checklist, notes, decision, and the packet and its documents as intake has them now."""
    now = ctx.now()
    async with ctx.uow() as uow:
        case = await uow.case(packet_id)
        if case is None:
            raise errors.case_not_found()
        held = await uow.active_assignment(packet_id)
        answers = await uow.answers(packet_id)
        notes = await uow.notes(packet_id)
        determination = await uow.determination(packet_id)
        utn = await uow.utn_request(packet_id)
        previous_id = (
            await uow.packet_of_utn(case.summary["previous_utn"]) if case.summary.get("previous_utn") else None
        )
        previous = await uow.determination(previous_id) if previous_id else None
        await uow.record_read(identity.user_id, packet_id, "packet")
        await uow.commit()
    packet = await ctx.intake.packet(packet_id)
    row = case_row(ctx, case, held, now)
    documents = [
        {k: d.get(k) for k in ("document_id", "filename", "content_type", "size", "category")}
        for d in packet.get("documents") or ()
    ]
    out: dict[str, Any] = {
        **row,
        "lines": [
            {"line_no": ln.line_no, "code": ln.code, "units": ln.units, "date_of_service": ln.date_of_service,
             "description": ctx.checklists.description(ln.code)}
            for ln in case.lines
        ],
        "summary": case.summary,
        "packet": {
            k: packet.get(k)
            for k in (
                "state", "version", "beneficiary", "practitioner", "facility", "requester", "diagnosis_codes",
                "place_of_service", "expedited_reason", "submission_type", "previous_utn", "channel",
            )
        },
        "documents": documents,
        "checklist": _checklist_view(ctx, case, answers),
        "recommendation": case.recommendation,
        "notes": notes,
        "determination": _determination_json(determination, utn) if determination else None,
        "previous": None,
    }  # fmt: skip
    if previous_id and previous:
        prev_packet = await ctx.intake.packet(previous_id)
        async with ctx.uow() as uow:
            await uow.record_read(identity.user_id, previous_id, "packet (earlier request)")
            await uow.commit()
        out["previous"] = {
            "packet_id": str(previous_id),
            "determination": _determination_json(previous, None),
            "documents": [
                {k: d.get(k) for k in ("document_id", "filename", "content_type", "size", "category")}
                for d in prev_packet.get("documents") or ()
            ],
        }
    return out


def _determination_json(d: dict[str, Any], utn: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "outcome": d["outcome"],
        "decided_by": d["decided_by"],
        "decided_by_role": d["decided_by_role"],
        "decided_at": _iso(d["decided_at"]),
        "rationale": d.get("rationale"),
        "lines": d["lines"],
        "utn": (utn or {}).get("utn"),
        "utn_status": (utn or {}).get("status"),
    }


async def document(
    ctx: Clinical, identity: Identity, packet_id: uuid.UUID, document_id: uuid.UUID
) -> tuple[str, str, bytes]:
    """A document's bytes from intake, for someone reviewing the case (the read is recorded)."""
    async with ctx.uow() as uow:
        if await uow.case(packet_id) is None:
            raise errors.case_not_found()
        await uow.record_read(identity.user_id, packet_id, f"document {document_id}")
        await uow.commit()
    return await ctx.intake.document(packet_id, document_id)


async def determination(ctx: Clinical, packet_id: uuid.UUID) -> dict[str, Any]:
    """The determination on the merits as letters read it (HTTP_CONTRACTS.md); 404 until there is one."""
    async with ctx.uow() as uow:
        d = await uow.determination(packet_id)
        case = await uow.case(packet_id)
        utn = await uow.utn_request(packet_id)
    if d is None or case is None:
        raise errors.NotFound("NOT_DETERMINED", "No determination on the merits for this packet.")
    checklist = ctx.checklists.services.get(case.service_id or "")
    lines = []
    for line in d["lines"]:
        unmet = []
        for u in line.get("unmet") or ():
            criterion = checklist.criterion(u["criterion_id"]) if checklist else None
            unmet.append(
                {
                    "criterion_id": u["criterion_id"],
                    "criterion": criterion.text if criterion else "",
                    "policy": criterion.policy if criterion else "",
                    "reason": u["reason"],
                    "resubmission": criterion.resubmission if criterion else "",
                }
            )
        lines.append(
            {
                "code": line["code"],
                "description": ctx.checklists.description(line["code"]),
                "units": line.get("units", 1),
                "outcome": line["outcome"],
                "unmet": unmet,
            }
        )
    p2p = ctx.peer_to_peer
    return {
        "packet_id": str(packet_id),
        "outcome": d["outcome"],
        "decided_by": d["decided_by"],
        "decided_by_role": d["decided_by_role"],
        "decided_at": _iso(d["decided_at"]),
        "rationale": d.get("rationale"),
        "utn": (utn or {}).get("utn"),
        "lines": lines,
        "peer_to_peer": {"phone": p2p.phone, "hours": p2p.hours, "how": p2p.how},
    }
