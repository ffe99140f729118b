"""Clinical review and MD review: the queue by time left, assignment and load, a case with its documents and the
criteria checklist with evidence, the nurse's recommendation, decisions per line; reviewer profiles."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from wiser_contracts import roles

from ...domain.auth import STAFF
from ...usecases.accounts import Session
from .common import Forbidden, app_state, audit_event, current, read_form, render, require, upstream_problem

router = APIRouter(include_in_schema=False)

REVIEWERS = frozenset({roles.CLINICAL_REVIEWER, roles.MEDICAL_DIRECTOR})
REVIEWERS_AND_SUPERVISORS = REVIEWERS | {roles.SUPERVISOR}
MDS = frozenset({roles.MEDICAL_DIRECTOR})
SUPERVISORS = frozenset({roles.SUPERVISOR})
PROFILE_ADMINS = frozenset({roles.SUPERVISOR, roles.ADMIN})
PAGE = 100  # cases per page of the queue
FILTERS = ("status", "state_of_service", "service_id", "review_type", "at_risk", "unassignable", "assigned_to")
NOTICES = {
    "taken": "The case is yours.",
    "released": "The case went back to the queue.",
    "assigned": "The case was assigned.",
    "saved": "Checklist saved.",
    "urgency": "Urgency recorded.",
    "affirmed": "Affirmed: the determination is recorded; the UTN follows from the MAC.",
    "escalated": "Escalated to a medical director.",
    "decided": "Decision recorded; the UTN follows from the MAC.",
    "returned": "Returned to the nurse.",
    "noted": "Note added.",
    "empty": "No waiting case you may take.",
    "profile": "Profile saved.",
}


def _filters(request: Request) -> dict[str, str]:
    q = request.query_params
    return {k: q.get(k, "").strip() for k in FILTERS}


async def _queue_page(request: Request, title: str, forced: dict[str, str]) -> Response:
    session = await current(request)
    require(session, STAFF)
    f = {**_filters(request), **forced}
    if f.get("assigned_to") == "me":
        f["assigned_to"] = str(session.user.id)
    params: dict[str, Any] = {k: v for k, v in f.items() if v}
    offset = request.query_params.get("offset", "0")
    params["offset"] = int(offset) if offset.isdigit() and len(offset) <= 7 else 0
    params["limit"] = PAGE
    up = await app_state(request).clinical.queue(session.user, params)
    if not up.ok:
        return upstream_problem(up, request)
    data = up.json()
    names = {r["user_id"]: r["display_name"] or r["user_id"] for r in data["reviewers"]}
    shown = {k: v for k, v in _filters(request).items() if v and k not in forced}

    def page_at(start: int) -> str:
        return f"{request.url.path}?{urlencode({**shown, 'offset': start})}"

    start, total = int(data.get("offset", 0)), int(data.get("total", len(data["cases"])))
    pages = {
        "first": start + 1 if data["cases"] else 0,
        "last": start + len(data["cases"]),
        "total": total,
        "previous": page_at(max(0, start - PAGE)) if start > 0 else None,
        "next": page_at(start + PAGE) if start + PAGE < total else None,
    }
    return render(
        request,
        "clinical_queue.html",
        session,
        title=title,
        filters=f,
        forced=forced,
        data=data,
        pages=pages,
        names=names,
        me=str(session.user.id),
        can_take=bool(session.user.roles & REVIEWERS),
        can_assign=bool(session.user.roles & SUPERVISORS),
        notices=NOTICES,
    )


@router.get("/clinical", response_class=HTMLResponse)
async def clinical_queue(request: Request) -> Response:
    return await _queue_page(request, "Clinical review", {})


@router.get("/clinical/md", response_class=HTMLResponse)
async def md_queue(request: Request) -> Response:
    return await _queue_page(request, "MD review", {"status": "md_review"})


async def _audited(request: Request, session: Session, action: str, packet_id: uuid.UUID | None, up: Any) -> None:
    await audit_event(
        request,
        session,
        action,
        resource_type="packet" if packet_id else "clinical",
        resource_id=str(packet_id) if packet_id else None,
        packet_id=packet_id,
        outcome="ok" if up.ok else str(up.status),
    )


def _back(packet_id: uuid.UUID, up: Any, notice: str, request: Request) -> Response:
    """Back to the case: with a notice when it worked, with the service's words when the rules said no."""
    if up.ok:
        return RedirectResponse(f"/clinical/cases/{packet_id}?done={notice}", status_code=303)
    if up.status in (409, 422):
        problem = up.json() or {}
        errors = [f"{e.get('field', '')}: {e.get('message', '')}" for e in problem.get("errors") or ()]
        query = urlencode(
            [("problem", problem.get("detail") or problem.get("title") or "Refused")] + [("e", e) for e in errors]
        )
        return RedirectResponse(f"/clinical/cases/{packet_id}?{query}", status_code=303)
    return upstream_problem(up, request)


@router.post("/clinical/next")
async def take_next(request: Request) -> Response:
    form = await read_form(request)
    session: Session = request.state.session
    require(session, REVIEWERS)
    del form
    up = await app_state(request).clinical.take_next(session.user)
    await _audited(request, session, "clinical.take_next", None, up)
    if up.status == 404:
        return RedirectResponse("/clinical?done=empty", status_code=303)
    if not up.ok:
        return upstream_problem(up, request)
    return RedirectResponse(f"/clinical/cases/{up.json()['packet_id']}?done=taken", status_code=303)


@router.get("/clinical/cases/{packet_id}", response_class=HTMLResponse)
async def case_page(request: Request, packet_id: uuid.UUID) -> Response:
    session = await current(request)
    require(session, STAFF)
    st = app_state(request)
    up = await st.clinical.case(session.user, packet_id)
    if not up.ok:
        return upstream_problem(up, request)
    case = up.json()
    await audit_event(
        request, session, "clinical.case.view", resource_type="packet", resource_id=str(packet_id), packet_id=packet_id
    )
    reviewers = (await st.clinical.reviewers(session.user)).json() or []
    me = str(session.user.id)
    unmet = [i for i in (case["checklist"] or {}).get("items", []) if i["answer"] in ("not_met", "not_documented")]
    return render(
        request,
        "clinical_case.html",
        session,
        case=case,
        mine=case["assigned_to"] == me,
        me=me,
        is_md=roles.MEDICAL_DIRECTOR in session.user.roles,
        can_take=bool(session.user.roles & REVIEWERS),
        can_assign=bool(session.user.roles & SUPERVISORS),
        reviewers=reviewers,
        names={r["user_id"]: r["display_name"] or r["user_id"] for r in reviewers},
        unmet=unmet,
        notices=NOTICES,
        problem=request.query_params.get("problem"),
        problem_errors=request.query_params.getlist("e"),
    )


@router.get("/clinical/cases/{packet_id}/documents/{document_id}")
async def case_document(request: Request, packet_id: uuid.UUID, document_id: uuid.UUID) -> Response:
    session = await current(request)
    require(session, STAFF)
    up = await app_state(request).clinical.document(session.user, packet_id, document_id)
    await audit_event(
        request,
        session,
        "document.view",
        resource_type="document",
        resource_id=str(document_id),
        packet_id=packet_id,
        outcome="ok" if up.ok else str(up.status),
        detail={"page": "clinical"},
    )
    if not up.ok:
        return upstream_problem(up, request)
    return Response(
        up.body,
        media_type=up.headers.get("content-type"),
        headers={
            "Content-Disposition": up.headers.get("content-disposition", "inline"),
            "Cache-Control": "private, no-store",
            "Content-Security-Policy": "default-src 'none'; frame-ancestors 'self'; style-src 'unsafe-inline'",
        },
    )


async def _act(
    request: Request, packet_id: uuid.UUID, allowed: frozenset[str], action: str, body: Any, notice: str,
    method: str = "POST",
) -> Response:  # fmt: skip
    session: Session = request.state.session
    if not session.user.roles & allowed:
        await audit_event(
            request, session, f"clinical.{action}", resource_type="packet", resource_id=str(packet_id),
            packet_id=packet_id, outcome="forbidden",
        )  # fmt: skip
        raise Forbidden()
    up = await app_state(request).clinical.act(session.user, packet_id, action, body, method)
    await _audited(request, session, f"clinical.{action}", packet_id, up)
    return _back(packet_id, up, notice, request)


def _text(form: Any, key: str) -> str:
    return str(form.get(key) or "").strip()


@router.post("/clinical/cases/{packet_id}/take")
async def take(request: Request, packet_id: uuid.UUID) -> Response:
    await read_form(request)
    return await _act(request, packet_id, REVIEWERS, "take", None, "taken")


@router.post("/clinical/cases/{packet_id}/release")
async def release(request: Request, packet_id: uuid.UUID) -> Response:
    form = await read_form(request)
    return await _act(
        request, packet_id, REVIEWERS_AND_SUPERVISORS, "release", {"reason": _text(form, "reason") or "released"},
        "released",
    )  # fmt: skip


@router.post("/clinical/cases/{packet_id}/assign")
async def assign(request: Request, packet_id: uuid.UUID) -> Response:
    form = await read_form(request)
    body = {"reviewer_id": _text(form, "reviewer_id"), "reason": _text(form, "reason")}
    return await _act(request, packet_id, SUPERVISORS, "assign", body, "assigned")


@router.post("/clinical/cases/{packet_id}/checklist")
async def checklist(request: Request, packet_id: uuid.UUID) -> Response:
    form = await read_form(request)
    require(request.state.session, REVIEWERS)
    answers = []
    for cid in form.getlist("criterion"):
        answer = _text(form, f"answer-{cid}")
        if not answer:
            continue
        evidence = []
        quote, doc, page = _text(form, f"quote-{cid}"), _text(form, f"doc-{cid}"), _text(form, f"page-{cid}")
        if quote or doc:
            evidence.append(
                {"document_id": doc or None, "page": int(page) if page.isdigit() and int(page) > 0 else None,
                 "quote": quote}
            )  # fmt: skip
        answers.append(
            {"criterion_id": cid, "answer": answer, "evidence": evidence, "note": _text(form, f"note-{cid}")}
        )
    if not answers:
        return RedirectResponse(f"/clinical/cases/{packet_id}?problem=Answer+at+least+one+item", status_code=303)
    return await _act(request, packet_id, REVIEWERS, "checklist", {"answers": answers}, "saved", method="PUT")


@router.post("/clinical/cases/{packet_id}/urgency")
async def urgency(request: Request, packet_id: uuid.UUID) -> Response:
    form = await read_form(request)
    body = {"confirmed": _text(form, "confirmed") == "yes", "reason": _text(form, "reason") or "reviewed"}
    return await _act(request, packet_id, REVIEWERS_AND_SUPERVISORS, "urgency", body, "urgency")


@router.post("/clinical/cases/{packet_id}/affirm")
async def affirm(request: Request, packet_id: uuid.UUID) -> Response:
    form = await read_form(request)
    return await _act(
        request, packet_id, REVIEWERS, "affirm", {"rationale": _text(form, "rationale") or None}, "affirmed"
    )


@router.post("/clinical/cases/{packet_id}/escalate")
async def escalate(request: Request, packet_id: uuid.UUID) -> Response:
    form = await read_form(request)
    body = {"recommendation": _text(form, "recommendation"), "rationale": _text(form, "rationale")}
    return await _act(request, packet_id, REVIEWERS, "escalate", body, "escalated")


@router.post("/clinical/cases/{packet_id}/decision")
async def decision(request: Request, packet_id: uuid.UUID) -> Response:
    form = await read_form(request)
    lines = []
    for code in form.getlist("line"):
        outcome = _text(form, f"outcome-{code}") or "affirmed"
        unmet = []
        if outcome == "non_affirmed":
            for cid in form.getlist(f"criteria-{code}"):
                reason = _text(form, f"reason-{code}-{cid}")
                if reason:
                    unmet.append({"criterion_id": cid, "reason": reason})
        lines.append({"code": code, "outcome": outcome, "unmet": unmet})
    body = {"lines": lines, "rationale": _text(form, "rationale") or None}
    return await _act(request, packet_id, MDS, "decision", body, "decided")


@router.post("/clinical/cases/{packet_id}/return")
async def return_case(request: Request, packet_id: uuid.UUID) -> Response:
    form = await read_form(request)
    return await _act(request, packet_id, MDS, "return", {"note": _text(form, "note")}, "returned")


@router.post("/clinical/cases/{packet_id}/notes")
async def note(request: Request, packet_id: uuid.UUID) -> Response:
    form = await read_form(request)
    return await _act(request, packet_id, REVIEWERS_AND_SUPERVISORS, "notes", {"note": _text(form, "note")}, "noted")


# ---------------------------------------------------------------------------------- reviewer profiles


@router.get("/clinical/reviewers", response_class=HTMLResponse)
async def reviewers_page(request: Request) -> Response:
    session = await current(request)
    require(session, STAFF)
    up = await app_state(request).clinical.reviewers(session.user)
    if not up.ok:
        return upstream_problem(up, request)
    return render(
        request,
        "clinical_reviewers.html",
        session,
        reviewers=up.json(),
        can_edit=bool(session.user.roles & PROFILE_ADMINS),
        notices=NOTICES,
        problem=request.query_params.get("problem"),
    )


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.replace("\n", ",").split(",") if v.strip()]


@router.post("/clinical/reviewers")
async def save_reviewer(request: Request) -> Response:
    form = await read_form(request)
    session: Session = request.state.session
    require(session, PROFILE_ADMINS)
    licences = []
    for entry in _split(_text(form, "licences")):
        state, _, expires = entry.partition(":")
        licences.append({"state": state.strip().upper(), "expires": expires.strip()})
    capacity = _text(form, "capacity")
    body = {
        "display_name": _text(form, "display_name"),
        "role": _text(form, "role"),
        "specialties": _split(_text(form, "specialties")),
        "services": _split(_text(form, "services")),
        "licences": licences,
        "capacity": int(capacity) if capacity.isdigit() else -1,
        "active": _text(form, "active") != "no",
        "auto_assign": _text(form, "auto_assign") != "no",
    }
    user_id = _text(form, "user_id") or "-"
    up = await app_state(request).clinical.put_reviewer(session.user, user_id, body)
    await audit_event(
        request, session, "clinical.reviewer.save", resource_type="reviewer", resource_id=user_id,
        outcome="ok" if up.ok else str(up.status),
    )  # fmt: skip
    if up.ok:
        return RedirectResponse("/clinical/reviewers?done=profile", status_code=303)
    if up.status in (400, 409, 422):
        problem = up.json() or {}
        return RedirectResponse(
            "/clinical/reviewers?" + urlencode({"problem": problem.get("detail") or problem.get("title") or "Refused"}),
            status_code=303,
        )
    return upstream_problem(up, request)
