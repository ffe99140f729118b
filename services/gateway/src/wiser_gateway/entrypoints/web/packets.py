"""The packets list, packet detail and documents."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from ...adapters.services import Streamed
from ...domain.auth import CORRECTORS, STAFF
from ...usecases.accounts import Session
from .common import STATES, TEMPLATES, app_state, audit_event, current, render, require, upstream_problem

router = APIRouter(include_in_schema=False)


def _filters(request: Request) -> dict[str, Any]:
    q = request.query_params
    return {
        "q": q.get("q", "").strip(),
        "state": q.getlist("state"),
        "service_code": q.get("service_code", "").strip(),
        "state_of_service": q.get("state_of_service", "").strip(),
        "review_type": q.get("review_type", ""),
        "due_within_hours": q.get("due_within_hours", ""),
        "at_risk": q.get("at_risk", ""),
        "sort": q.get("sort", "-received_at"),
        "cursor": q.get("cursor", ""),
    }


def _intake_params(f: dict[str, Any], limit: int) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = [("limit", str(limit)), ("sort", f["sort"])]
    for key in ("q", "service_code", "state_of_service", "review_type", "cursor"):
        if f[key]:
            params.append((key, f[key]))
    params += [("state", s) for s in f["state"] if s in STATES]
    if f["at_risk"] in ("true", "false"):
        params.append(("at_risk", f["at_risk"]))
    if f["due_within_hours"].isdigit():
        due = datetime.now(UTC) + timedelta(hours=int(f["due_within_hours"]))
        params.append(("due_before", due.isoformat()))
    return params


def _query_with(f: dict[str, Any], **changes: Any) -> str:
    merged = {**f, **changes}
    pairs: list[tuple[str, str]] = []
    for key, value in merged.items():
        if isinstance(value, list):
            pairs += [(key, v) for v in value]
        elif value:
            pairs.append((key, str(value)))
    return urlencode(pairs)


TEMPLATES.env.globals["query_with"] = _query_with


@router.get("/packets", response_class=HTMLResponse)
async def packets_page(request: Request) -> Response:
    session = await current(request)
    require(session, STAFF)
    st = app_state(request)
    f = _filters(request)
    # The page, the counts per state, and the letter sets that could not be drafted (they put their packet at
    # risk: said beside it, with the reason) are asked for side by side.
    listing, counts, blocked = await asyncio.gather(
        st.intake.packets(session.user, _intake_params(f, st.settings.packets_page_size)),
        st.intake.counts(session.user),
        st.letters.awaiting(session.user, ("blocked",)),
    )
    if not listing.ok:
        return upstream_problem(listing, request)
    template = "packets_results.html" if request.query_params.get("fragment") else "packets.html"
    blocked_sets = (blocked.json() or {}).get("items", []) if blocked.ok else []
    blocked_letters = {i["packet_id"]: i["blocked_reason"] for i in blocked_sets}
    return render(
        request,
        template,
        session,
        filters=f,
        page=listing.json(),
        counts=counts.json() or {},
        states=STATES,
        blocked_letters=blocked_letters,
        blocked_sets=blocked_sets,
    )


async def load_packet(request: Request, session: Session, packet_id: uuid.UUID) -> dict[str, Any] | Response:
    up = await app_state(request).intake.packet(session.user, packet_id)
    if not up.ok:
        return upstream_problem(up, request)
    return up.json()  # type: ignore[no-any-return]


async def load_validation(request: Request, session: Session, packet_id: uuid.UUID) -> dict[str, Any] | None:
    up = await app_state(request).validation.findings(session.user, packet_id)
    return up.json() if up.ok else None


@router.get("/packets/{packet_id}", response_class=HTMLResponse)
async def packet_page(request: Request, packet_id: uuid.UUID) -> Response:
    session = await current(request)
    require(session, STAFF)
    packet = await load_packet(request, session, packet_id)
    if isinstance(packet, Response):
        return packet
    if request.query_params.get("fragment") == "status":
        return render(request, "packet_status.html", session, packet=packet)
    validation = await load_validation(request, session, packet_id)
    clinical = await app_state(request).clinical.case(session.user, packet_id)  # the Clinical tab (404: no case)
    await audit_event(
        request, session, "packet.view", resource_type="packet", resource_id=str(packet_id), packet_id=packet_id
    )
    return render(
        request,
        "packet.html",
        session,
        packet=packet,
        validation=validation,
        clinical=clinical.json() if clinical.ok else None,
        can_correct=bool(session.user.roles & CORRECTORS),
        tab=request.query_params.get("tab", "overview"),
    )


@router.get("/packets/{packet_id}/documents/{document_id}")
async def document(request: Request, packet_id: uuid.UUID, document_id: uuid.UUID) -> Response:
    session = await current(request)
    require(session, STAFF)
    up = await app_state(request).intake.document(session.user, packet_id, document_id)
    await audit_event(
        request,
        session,
        "document.view",
        resource_type="document",
        resource_id=str(document_id),
        packet_id=packet_id,
        outcome="ok" if up.ok else str(up.status),
    )
    if not isinstance(up, Streamed):
        return upstream_problem(up, request)
    disposition = up.headers.get("content-disposition", "inline")
    if request.query_params.get("download"):
        disposition = disposition.replace("inline", "attachment", 1)
    length = {"Content-Length": up.headers["content-length"]} if "content-length" in up.headers else {}
    return StreamingResponse(
        up.chunks(),
        media_type=up.headers.get("content-type"),
        headers={
            **length,
            "Content-Disposition": disposition,
            "Cache-Control": "private, no-store",
            # Shown inside our own pages only.
            "Content-Security-Policy": "default-src 'none'; frame-ancestors 'self'; style-src 'unsafe-inline'",
        },
    )


# ------------------------------------------------------------------------------------- manual review
