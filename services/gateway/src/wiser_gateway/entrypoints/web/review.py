"""Manual review: the queue, corrections (T5), re-validation and dismissal (T6)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from wiser_contracts import messages as m
from wiser_contracts import packet_fields

from ...domain.auth import CORRECTORS, DISMISSERS, STAFF
from ...usecases.accounts import Session
from .common import Forbidden, app_state, audit_event, check_csrf, current, read_form, render, require, upstream_problem
from .packets import load_packet, load_validation

router = APIRouter(include_in_schema=False)

CORRECTABLE = packet_fields.ON_THE_FORM


async def dismissal_reasons(request: Request, session: Session) -> list[dict[str, str]]:
    """The reasons in force, from validation's reference data (their one source); none for who cannot dismiss."""
    if not session.user.roles & DISMISSERS:
        return []
    return await app_state(request).validation.dismissal_reasons(session.user)  # type: ignore[no-any-return]


@router.get("/review", response_class=HTMLResponse)
async def review_queue(request: Request) -> Response:
    session = await current(request)
    require(session, STAFF)
    st = app_state(request)
    params = [("state", "manual_review"), ("sort", "due_at"), ("limit", "100")]
    if request.query_params.get("cursor"):
        params.append(("cursor", request.query_params["cursor"]))
    listing = await st.intake.packets(session.user, params)
    if not listing.ok:
        return upstream_problem(listing, request)
    return render(request, "review_queue.html", session, page=listing.json())


@router.get("/review/{packet_id}", response_class=HTMLResponse)
async def review_page(request: Request, packet_id: uuid.UUID, conflict: str | None = None) -> Response:
    session = await current(request)
    require(session, STAFF)
    packet = await load_packet(request, session, packet_id)
    if isinstance(packet, Response):
        return packet
    validation = await load_validation(request, session, packet_id)
    await audit_event(
        request,
        session,
        "packet.view",
        resource_type="packet",
        resource_id=str(packet_id),
        packet_id=packet_id,
        detail={"page": "review"},
    )
    return render(
        request,
        "review.html",
        session,
        packet=packet,
        validation=validation,
        fields=_field_values(packet),
        findings_by_field=_findings_by_field(validation),
        can_correct=bool(session.user.roles & CORRECTORS),
        can_dismiss=bool(session.user.roles & DISMISSERS),
        dismissal_reasons=await dismissal_reasons(request, session),
        conflict=conflict,
        errors=[],
    )


def _field_values(packet: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for path, label in CORRECTABLE:
        node: Any = {**packet, "state": packet["state_of_service"]}
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        out.append(
            {"path": path, "label": label, "value": "" if node is None else str(node), "id": path.replace(".", "-")}
        )
    return out


def _findings_by_field(validation: dict[str, Any] | None) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    if validation and validation.get("runs"):
        for f in validation["runs"][-1]["findings"]:
            if f["severity"] in ("correction", "dismiss") and f.get("field"):
                out.setdefault(f["field"], []).append(f)
    return out


@router.post("/review/{packet_id}/corrections")
async def submit_corrections(request: Request, packet_id: uuid.UUID) -> Response:
    session = await current(request)
    form = await request.form()
    await check_csrf(request, session, form)
    require(session, CORRECTORS)
    packet = await load_packet(request, session, packet_id)
    if isinstance(packet, Response):
        return packet
    if str(packet["version"]) != str(form.get("version")):
        # The form was filled in on a version that is gone: show the current values, change nothing.
        await audit_event(
            request,
            session,
            "packet.correct",
            resource_type="packet",
            resource_id=str(packet_id),
            packet_id=packet_id,
            outcome="conflict",
        )
        return RedirectResponse(f"/review/{packet_id}?conflict=1", status_code=303)
    current_values = {f["path"]: f["value"] for f in _field_values(packet)}
    corrections, errors = [], []
    for path, label in CORRECTABLE:
        key = path.replace(".", "-")
        if f"field-{key}" not in form:
            continue
        value = str(form.get(f"field-{key}") or "").strip()
        if value == current_values.get(path, ""):
            continue
        reason = str(form.get(f"reason-{key}") or "").strip()
        if not reason:
            errors.append(f"{label}: give a reason for the change.")
            continue
        corrections.append({"field": path, "value": value or None, "reason": reason})
    if not corrections and not errors:
        errors.append("Nothing changed: edit a field and give a reason.")
    if errors:
        validation = await load_validation(request, session, packet_id)
        return render(
            request,
            "review.html",
            session,
            status=422,
            packet=packet,
            validation=validation,
            fields=_field_values(packet),
            findings_by_field=_findings_by_field(validation),
            can_correct=True,
            can_dismiss=bool(session.user.roles & DISMISSERS),
            dismissal_reasons=await dismissal_reasons(request, session),
            conflict=None,
            errors=errors,
        )
    up = await app_state(request).intake.correct(session.user, packet_id, corrections, form.get("version"))
    await audit_event(
        request,
        session,
        "packet.correct",
        resource_type="packet",
        resource_id=str(packet_id),
        packet_id=packet_id,
        outcome="ok" if up.ok else str(up.status),
        detail={"fields": [c["field"] for c in corrections]},
    )
    if up.status in (409, 412):
        # Someone else moved or changed the packet first: show the current values and say so.
        return RedirectResponse(f"/review/{packet_id}?conflict=1", status_code=303)
    if not up.ok:
        return upstream_problem(up, request)
    return RedirectResponse(f"/packets/{packet_id}?notice=corrected", status_code=303)


async def _packet_action(
    request: Request,
    packet_id: uuid.UUID,
    *,
    action: str,
    roles: frozenset[str],
    service: str,
    path: str,
    body: Any,
    notice: str,
    detail: dict[str, Any] | None = None,
    command: str | None = None,
) -> Response:
    """A change to a packet from a form: forward it with the user's identity, audit it, go back to the packet.

    `command` names the bus command the service will issue on the user's behalf (bound token attached).
    """
    session: Session = request.state.session
    audit_kw: dict[str, Any] = {
        "resource_type": "packet",
        "resource_id": str(packet_id),
        "packet_id": packet_id,
        "detail": detail or {},
    }
    if not session.user.roles & roles:
        await audit_event(request, session, action, outcome="forbidden", **audit_kw)
        raise Forbidden()
    up = await app_state(request).services.call(
        service, "POST", path, session.user, json=body, command=(packet_id, command) if command else None
    )
    await audit_event(request, session, action, outcome="ok" if up.ok else str(up.status), **audit_kw)
    if not up.ok:
        return upstream_problem(up, request)
    return RedirectResponse(f"/packets/{packet_id}?notice={notice}", status_code=303)


@router.post("/review/{packet_id}/revalidate")
async def revalidate(request: Request, packet_id: uuid.UUID) -> Response:
    """Ask validation to run again (e.g. after PEER_UNAVAILABLE), without changing any field."""
    form = await read_form(request)
    reason = str(form.get("reason") or "").strip() or "validate again"
    return await _packet_action(
        request,
        packet_id,
        action="packet.revalidate",
        roles=CORRECTORS,
        service="validation",
        path=f"/api/v1/validation/packets/{packet_id}/rerun",
        body={"reason": reason},
        notice="revalidating",
        command=m.RevalidatePacket.TYPE,
    )


@router.post("/review/{packet_id}/dismiss")
async def dismiss(request: Request, packet_id: uuid.UUID) -> Response:
    form = await read_form(request)
    body = {"code": str(form.get("code") or ""), "note": str(form.get("note") or "").strip()}
    return await _packet_action(
        request,
        packet_id,
        action="packet.dismiss",
        roles=DISMISSERS,
        service="intake",
        path=f"/api/v1/ops/packets/{packet_id}/dismiss",
        body=body,
        notice="dismissed",
        detail={"code": body["code"]},
    )


# -------------------------------------------------------------------------------------- live updates
