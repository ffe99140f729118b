"""Letter generation: sets awaiting approval by time left, each letter's PDF beside its checks, and the people's
actions (approve, reject with a reason, rewrite the free-text paragraphs, redraft a blocked set); live updates."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from wiser_contracts import roles

from ...domain.auth import STAFF
from .common import Forbidden, app_state, audit_event, current, read_form, render, require, upstream_problem

router = APIRouter(include_in_schema=False)
APPROVERS = roles.LETTER_APPROVERS
NOTICES = {
    "approved": "The letters were approved; the packet moves on to delivery.",
    "rejected": "The letters were rejected; a new version is being drafted.",
    "edited": "Your changes were saved as a new version.",
    "redrafted": "The letters were drafted again.",
}


@router.get("/letters", response_class=HTMLResponse)
async def letters_page(request: Request) -> Response:
    session = await current(request)
    require(session, STAFF)
    up = await app_state(request).letters.awaiting(session.user)
    if not up.ok:
        return upstream_problem(up, request)
    items = up.json()["items"]
    await audit_event(request, session, "letters.list", resource_type="letter_set", detail={"count": len(items)})
    return render(
        request,
        "letters.html",
        session,
        drafted=[i for i in items if i["status"] == "drafted"],
        blocked=[i for i in items if i["status"] == "blocked"],
    )


@router.get("/letters/{set_id}", response_class=HTMLResponse)
async def letter_set_page(request: Request, set_id: uuid.UUID) -> Response:
    session = await current(request)
    require(session, STAFF)
    st = app_state(request)
    up = await st.letters.letter_set(session.user, set_id)
    if not up.ok:
        return upstream_problem(up, request)
    letter_set = up.json()
    if request.query_params.get("fragment") == "status":
        return render(request, "letter_status.html", session, s=letter_set)
    history = await st.letters.history(session.user, set_id)
    await audit_event(
        request,
        session,
        "letters.view",
        resource_type="letter_set",
        resource_id=str(set_id),
        packet_id=uuid.UUID(letter_set["packet_id"]),
        detail={"version": letter_set["version"]},
    )
    return render(
        request,
        "letter_set.html",
        session,
        s=letter_set,
        history=history.json() if history.ok else None,
        can_act=bool(session.user.roles & APPROVERS),
        notice=NOTICES.get(request.query_params.get("done", ""), ""),
        error=request.query_params.get("error", ""),
    )


@router.get("/letters/{set_id}/pdf/{letter_id}")
async def letter_pdf(request: Request, set_id: uuid.UUID, letter_id: uuid.UUID) -> Response:
    session = await current(request)
    require(session, STAFF)
    version = request.query_params.get("version")
    up = await app_state(request).letters.pdf(session.user, letter_id, int(version) if version else None)
    await audit_event(
        request,
        session,
        "letter.view",
        resource_type="letter",
        resource_id=str(letter_id),
        outcome="ok" if up.ok else str(up.status),
        detail={"set_id": str(set_id), "version": up.headers.get("x-letter-version")},
    )
    if not up.ok:
        return upstream_problem(up, request)
    return Response(
        up.body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": up.headers.get("content-disposition", "inline"),
            "Cache-Control": "private, no-store",
            "Content-Security-Policy": "default-src 'none'; frame-ancestors 'self'; style-src 'unsafe-inline'",
        },
    )


async def _act(request: Request, set_id: uuid.UUID, action: str) -> Response:
    session = await current(request)
    form = await read_form(request)
    audit_kw: dict[str, Any] = {"resource_type": "letter_set", "resource_id": str(set_id)}
    if not session.user.roles & APPROVERS:
        await audit_event(request, session, f"letters.{action}", outcome="forbidden", **audit_kw)
        raise Forbidden()
    letters = app_state(request).letters
    try:
        version = int(str(form.get("version") or "0"))
    except ValueError:
        version = 0
    if action == "approve":
        up = await letters.approve(session.user, set_id, version)
    elif action == "reject":
        reason = str(form.get("reason") or "").strip()
        if not reason:
            return RedirectResponse(f"/letters/{set_id}?error=reason", status_code=303)
        up = await letters.reject(session.user, set_id, version, reason)
        audit_kw["detail"] = {"reason": reason[:200]}
    elif action == "edit":
        paragraphs: dict[str, dict[str, str]] = {}
        for recipient in ("requester", "beneficiary"):
            for name in ("opening", "closing"):
                key = f"{recipient}-{name}"
                if key in form:
                    paragraphs.setdefault(recipient, {})[name] = str(form.get(key) or "")
        up = await letters.edit(session.user, set_id, version, paragraphs)
    else:
        up = await letters.redraft(session.user, set_id)
    await audit_event(request, session, f"letters.{action}", outcome="ok" if up.ok else str(up.status), **audit_kw)
    if up.status in (409, 422) and action != "redraft":
        problem = up.json() or {}
        detail = str(problem.get("detail") or problem.get("title") or "refused")[:300]
        from urllib.parse import urlencode

        return RedirectResponse(f"/letters/{set_id}?{urlencode({'error': detail})}", status_code=303)
    if not up.ok:
        return upstream_problem(up, request)
    done = {"approve": "approved", "reject": "rejected", "edit": "edited", "redraft": "redrafted"}[action]
    return RedirectResponse(f"/letters/{set_id}?done={done}", status_code=303)


@router.post("/letters/{set_id}/approve")
async def approve(request: Request, set_id: uuid.UUID) -> Response:
    return await _act(request, set_id, "approve")


@router.post("/letters/{set_id}/reject")
async def reject(request: Request, set_id: uuid.UUID) -> Response:
    return await _act(request, set_id, "reject")


@router.post("/letters/{set_id}/edit")
async def edit(request: Request, set_id: uuid.UUID) -> Response:
    return await _act(request, set_id, "edit")


@router.post("/letters/{set_id}/redraft")
async def redraft(request: Request, set_id: uuid.UUID) -> Response:
    return await _act(request, set_id, "redraft")
