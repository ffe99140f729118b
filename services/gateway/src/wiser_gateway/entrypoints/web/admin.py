"""Live updates, users (admin) and the audit trail (auditor, admin)."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from ...domain.auth import ADMINS, AUDITORS, ROLES, STAFF
from ...usecases import accounts, audit
from .common import app_state, audit_event, check_csrf, current, render, require

router = APIRouter(include_in_schema=False)


@router.get("/events")
async def events(request: Request) -> Response:
    session = await current(request)
    require(session, STAFF)
    return StreamingResponse(
        app_state(request).hub.stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


# --------------------------------------------------------------------------------------------- admin


@router.get("/admin/users", response_class=HTMLResponse)
async def users_page(request: Request, error: str | None = None) -> Response:
    session = await current(request)
    require(session, ADMINS)
    async with app_state(request).sessions() as db:
        people = await accounts.list_users(db)
    return render(request, "users.html", session, people=people, all_roles=ROLES, error=error)


@router.post("/admin/users")
async def create_user(request: Request) -> Response:
    session = await current(request)
    form = await request.form()
    await check_csrf(request, session, form)
    require(session, ADMINS)
    try:
        async with app_state(request).sessions() as db, db.begin():
            created = await accounts.create_user(
                db,
                str(form.get("username") or "").strip(),
                str(form.get("display_name") or "").strip(),
                str(form.get("password") or ""),
                [str(r) for r in form.getlist("roles")],
            )
    except Exception as e:
        message = str(e) if isinstance(e, ValueError) else "That username is taken."
        return RedirectResponse(f"/admin/users?{urlencode({'error': message})}", status_code=303)
    await audit_event(
        request,
        session,
        "user.create",
        resource_type="user",
        resource_id=str(created.id),
        detail={"username": created.username, "roles": sorted(created.roles)},
    )
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}")
async def update_user(request: Request, user_id: uuid.UUID) -> Response:
    session = await current(request)
    form = await request.form()
    await check_csrf(request, session, form)
    require(session, ADMINS)
    action = str(form.get("action") or "")
    try:
        async with app_state(request).sessions() as db, db.begin():
            if action == "roles":
                changed = await accounts.set_user(db, user_id, roles=[str(r) for r in form.getlist("roles")])
            elif action in ("deactivate", "activate"):
                changed = await accounts.set_user(db, user_id, active=action == "activate")
            else:
                changed = None
    except ValueError as e:
        return RedirectResponse(f"/admin/users?{urlencode({'error': str(e)})}", status_code=303)
    if changed is None:
        return RedirectResponse(f"/admin/users?{urlencode({'error': 'No such user or action.'})}", status_code=303)
    await audit_event(
        request,
        session,
        f"user.{action}",
        resource_type="user",
        resource_id=str(user_id),
        detail={"roles": sorted(changed.roles), "active": changed.active},
    )
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(request: Request) -> Response:
    session = await current(request)
    require(session, AUDITORS)
    q = request.query_params
    packet = None
    try:
        packet = uuid.UUID(q["packet_id"]) if q.get("packet_id") else None
    except ValueError:
        packet = None
    async with app_state(request).sessions() as db:
        rows = await audit.search(
            db, username=q.get("username") or None, action=q.get("action") or None, packet_id=packet
        )
    await audit_event(request, session, "audit.search", detail={k: v for k, v in q.items() if k != "csrf_token"})
    return render(request, "audit.html", session, rows=rows, filters=dict(q))


# ------------------------------------------------------------------------------------- error pages
