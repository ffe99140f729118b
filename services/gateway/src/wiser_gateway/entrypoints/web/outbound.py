"""Outbound communications: deliveries by status and channel with every attempt and the peer's answer,
"retry now" with a corrected fax number or address (T18); and every service's parked messages on one page."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from wiser_contracts import messages as m
from wiser_contracts import roles

from ...domain.auth import DISMISSERS, STAFF
from .common import Forbidden, app_state, audit_event, current, read_form, render, require, upstream_problem

router = APIRouter(include_in_schema=False)
STATUSES = ("sending", "failed", "completed")
CHANNELS = ("fax", "mail", "esmd", "email", "webhook")
REPLAYERS = frozenset({roles.SUPERVISOR, roles.ADMIN})


@router.get("/outbound", response_class=HTMLResponse)
async def outbound_page(request: Request, status: str | None = None, channel: str | None = None) -> Response:
    session = await current(request)
    require(session, STAFF)
    status = status if status in STATUSES else None
    channel = channel if channel in CHANNELS else None
    st = app_state(request)
    up = await st.outbound.deliveries(session.user, status, channel)
    if not up.ok:
        return upstream_problem(up, request)
    hooks = await st.outbound.webhook_deliveries(session.user, "failed" if status == "failed" else None)
    await audit_event(request, session, "outbound.view", resource_type="deliveries", detail={"status": status})
    return render(
        request,
        "outbound.html",
        session,
        page=up.json(),
        webhooks=hooks.json()["items"] if hooks.ok else [],
        status_filter=status,
        channel=channel,
        statuses=STATUSES,
        channels=CHANNELS,
        can_retry=bool(session.user.roles & DISMISSERS),
    )


def _retry_body(form: Any) -> dict[str, Any]:
    body: dict[str, Any] = {}
    fax = str(form.get("fax") or "").strip()
    if fax:
        body["fax"] = fax
    line1 = str(form.get("line1") or "").strip()
    if line1:
        body["address"] = {
            "line1": line1,
            "city": str(form.get("city") or "").strip(),
            "state": str(form.get("state") or "").strip().upper(),
            "zip": str(form.get("zip") or "").strip(),
        }
    reason = str(form.get("reason") or "").strip()
    if reason:
        body["reason"] = reason
    return body


@router.post("/outbound/{packet_id}/retry")
async def retry(request: Request, packet_id: uuid.UUID) -> Response:
    form = await read_form(request)
    session = request.state.session
    body = _retry_body(form)
    audit_kw: dict[str, Any] = {
        "resource_type": "packet",
        "resource_id": str(packet_id),
        "packet_id": packet_id,
        "detail": {"corrected": sorted(k for k in body if k != "reason")},
    }
    if not session.user.roles & DISMISSERS:
        await audit_event(request, session, "delivery.retry", outcome="forbidden", **audit_kw)
        raise Forbidden()
    up = await app_state(request).outbound.retry(session.user, packet_id, body, m.RetryDelivery.TYPE)
    await audit_event(request, session, "delivery.retry", outcome="ok" if up.ok else str(up.status), **audit_kw)
    if not up.ok:
        return upstream_problem(up, request)
    return RedirectResponse(f"/packets/{packet_id}?notice=retrying", status_code=303)


@router.get("/parked", response_class=HTMLResponse)
async def parked_page(request: Request) -> Response:
    session = await current(request)
    require(session, STAFF)
    st = app_state(request)
    services = []
    for service in st.parked.known():
        up = await st.parked.listing(session.user, service)
        services.append(
            {"service": service, "ok": up.ok, "queues": (up.json() or {}).get("queues", []) if up.ok else []}
        )
    await audit_event(request, session, "parked.view", resource_type="parked")
    return render(request, "parked.html", session, services=services, can_replay=bool(session.user.roles & REPLAYERS))


@router.post("/parked/replay")
async def parked_replay(request: Request) -> Response:
    form = await read_form(request)
    session = request.state.session
    service, queue = str(form.get("service") or ""), str(form.get("queue") or "")
    st = app_state(request)
    detail = {"service": service, "queue": queue}
    if not session.user.roles & REPLAYERS or service not in st.parked.known():
        await audit_event(request, session, "parked.replay", outcome="forbidden", resource_type="parked", detail=detail)
        raise Forbidden()
    up = await st.parked.replay(session.user, service, queue)
    await audit_event(
        request,
        session,
        "parked.replay",
        outcome="ok" if up.ok else str(up.status),
        resource_type="parked",
        detail=detail,
    )
    if not up.ok:
        return upstream_problem(up, request)
    return RedirectResponse("/parked?notice=replayed", status_code=303)
