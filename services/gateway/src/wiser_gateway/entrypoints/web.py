"""The dashboards: server-rendered pages, forms with CSRF tokens, and a little first-party JavaScript."""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates

from wiser_contracts import messages as m

from ..domain.auth import ADMINS, AUDITORS, CORRECTORS, DISMISSERS, ROLES, STAFF
from ..usecases import accounts, audit
from ..usecases.accounts import Session, SignInFailed

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parents[1] / "templates"))
COOKIE = "wiser_session"
PRE_CSRF = "wiser_signin"
STATES = tuple(state.value for state in m.PacketState)
CORRECTABLE = (
    ("beneficiary.mbi", "MBI"),
    ("beneficiary.first_name", "Beneficiary first name"),
    ("beneficiary.last_name", "Beneficiary last name"),
    ("beneficiary.date_of_birth", "Date of birth"),
    ("practitioner.npi", "Practitioner NPI"),
    ("practitioner.ptan", "Practitioner PTAN"),
    ("practitioner.first_name", "Practitioner first name"),
    ("practitioner.last_name", "Practitioner last name"),
    ("facility.npi", "Facility NPI"),
    ("facility.ccn", "Facility CCN"),
    ("state", "State of service"),
    ("place_of_service", "Place of service"),
    ("type_of_bill", "Type of bill"),
    ("requester.phone", "Requester phone"),
    ("requester.fax", "Requester fax"),
    ("requester.email", "Requester email"),
    ("expedited_reason", "Expedited reason"),
)
DISMISSAL_CODES = (
    "WRONG_JURISDICTION",
    "NON_WISER_SERVICE",
    "NOT_ORIGINAL_MEDICARE",
    "INVALID_BENEFICIARY",
    "INVALID_BILLING_INFO",
    "INELIGIBLE_PROVIDER",
    "EXEMPT_PROVIDER",
    "DUPLICATE_REQUEST",
)

router = APIRouter(include_in_schema=False)


class SignInRequired(Exception):
    pass


class Forbidden(Exception):
    pass


def app_state(request: Request) -> Any:
    return request.app.state


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def current(request: Request) -> Session:
    st = app_state(request)
    token = request.cookies.get(COOKIE)
    if not token:
        raise SignInRequired()
    session = await accounts.resolve_session(st.sessions, token, st.session_policy)
    if session is None:
        raise SignInRequired()
    request.state.session = session
    return session


def require(session: Session, roles: frozenset[str]) -> None:
    if not session.user.roles & roles:
        raise Forbidden()


async def check_csrf(request: Request, session: Session, form: Any = None) -> None:
    sent = request.headers.get("x-csrf-token") or (form.get("csrf_token") if form is not None else None)
    if not sent or not secrets.compare_digest(str(sent), session.csrf_token):
        raise Forbidden()


def render(request: Request, template: str, session: Session | None, status: int = 200, **ctx: Any) -> HTMLResponse:
    ctx.update(
        {
            "request": request,
            "session": session,
            "user": session.user if session else None,
            "csrf": session.csrf_token if session else "",
            "roles": session.user.roles if session else set(),
            "now": datetime.now(UTC),
        }
    )
    return TEMPLATES.TemplateResponse(request, template, ctx, status_code=status)


async def audit_event(request: Request, session: Session | None, action: str, **kw: Any) -> None:
    await audit.record(
        app_state(request).sessions,
        session.user if session else None,
        action,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        **kw,
    )


# ------------------------------------------------------------------------------------------ sign-in


@router.get("/signin", response_class=HTMLResponse)
async def signin_page(request: Request, next: str = "/packets", error: str | None = None) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(request, "signin.html", None, next=_safe_next(next), error=error, signin_csrf=token)
    _set_cookie(request, response, PRE_CSRF, token, max_age=1800)
    return response


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/packets"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or bool(app_state(request).settings.force_https)


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(
        name, value, httponly=True, samesite="strict", secure=_secure(request), max_age=max_age, path="/"
    )


@router.post("/signin")
async def signin(request: Request) -> Response:
    st = app_state(request)
    form = await request.form()
    username, password = str(form.get("username") or "").strip(), str(form.get("password") or "")
    nxt = _safe_next(str(form.get("next") or "/packets"))
    pre = request.cookies.get(PRE_CSRF)
    if not pre or not secrets.compare_digest(pre, str(form.get("csrf_token") or "")):
        return RedirectResponse(f"/signin?{urlencode({'next': nxt, 'error': 'expired'})}", status_code=303)
    wait = st.signin_limiter.take(client_ip(request), st.settings.signin_per_minute)
    if wait > 0:
        return render(request, "signin.html", None, status=429, next=nxt, error="rate", signin_csrf=pre)
    try:
        user = await accounts.authenticate(st.sessions, username, password, st.lockout)
    except SignInFailed as e:
        await audit.record(
            st.sessions,
            None,
            "signin.failed",
            ip=client_ip(request),
            outcome=e.reason,
            user_agent=request.headers.get("user-agent"),
            detail={"username": username[:80]},
        )
        return render(
            request,
            "signin.html",
            None,
            status=401 if e.reason == "invalid" else 423,
            next=nxt,
            error=e.reason,
            signin_csrf=pre,
        )
    token, _ = await accounts.open_session(st.sessions, user, st.session_policy, client_ip(request))
    await audit.record(st.sessions, user, "signin", ip=client_ip(request), user_agent=request.headers.get("user-agent"))
    response = RedirectResponse(nxt, status_code=303)
    _set_cookie(request, response, COOKIE, token)
    response.delete_cookie(PRE_CSRF, path="/")
    return response


@router.post("/signout")
async def signout(request: Request) -> Response:
    session = await current(request)
    await check_csrf(request, session, await request.form())
    await accounts.close_session(app_state(request).sessions, session.token_hash)
    await audit_event(request, session, "signout")
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/")
async def home() -> Response:
    return RedirectResponse("/packets", status_code=303)


# ------------------------------------------------------------------------------------------ packets


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


def time_left(seconds: int) -> str:
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rem = divmod(seconds, 86400)
    hours, rem = divmod(rem, 3600)
    minutes = rem // 60
    text = f"{days}d {hours}h" if days else f"{hours}h {minutes:02d}m"
    return f"{sign}{text}" if not sign else f"overdue {text}"


TEMPLATES.env.globals["time_left"] = time_left


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
    listing = await st.services.call(
        "intake", "GET", "/api/v1/ops/packets", session.user, params=_intake_params(f, st.settings.packets_page_size)
    )
    counts = await st.services.call("intake", "GET", "/api/v1/ops/packets/counts", session.user)
    if not listing.ok:
        return _upstream_problem(listing, request)
    template = "packets_results.html" if request.query_params.get("fragment") else "packets.html"
    return render(request, template, session, filters=f, page=listing.json(), counts=counts.json() or {}, states=STATES)


def _upstream_problem(up: Any, request: Request | None = None) -> Response:
    """A service's problem, passed through with its status: as problem+json, or as a page for a browser."""
    if request is not None and "text/html" in request.headers.get("accept", ""):
        try:
            problem = up.json() or {}
        except ValueError:
            problem = {}
        return render(
            request, "problem.html", getattr(request.state, "session", None), status=up.status, problem=problem
        )
    return Response(up.body, status_code=up.status, media_type=up.headers.get("content-type", "application/json"))


async def _packet(request: Request, session: Session, packet_id: uuid.UUID) -> dict[str, Any] | Response:
    up = await app_state(request).services.call("intake", "GET", f"/api/v1/ops/packets/{packet_id}", session.user)
    if not up.ok:
        return _upstream_problem(up, request)
    return up.json()  # type: ignore[no-any-return]


async def _validation(request: Request, session: Session, packet_id: uuid.UUID) -> dict[str, Any] | None:
    up = await app_state(request).services.call(
        "validation", "GET", f"/api/v1/validation/packets/{packet_id}", session.user
    )
    return up.json() if up.ok else None


@router.get("/packets/{packet_id}", response_class=HTMLResponse)
async def packet_page(request: Request, packet_id: uuid.UUID) -> Response:
    session = await current(request)
    require(session, STAFF)
    packet = await _packet(request, session, packet_id)
    if isinstance(packet, Response):
        return packet
    if request.query_params.get("fragment") == "status":
        return render(request, "packet_status.html", session, packet=packet)
    validation = await _validation(request, session, packet_id)
    await audit_event(
        request, session, "packet.view", resource_type="packet", resource_id=str(packet_id), packet_id=packet_id
    )
    return render(
        request,
        "packet.html",
        session,
        packet=packet,
        validation=validation,
        can_correct=bool(session.user.roles & CORRECTORS),
        tab=request.query_params.get("tab", "overview"),
    )


@router.get("/packets/{packet_id}/documents/{document_id}")
async def document(request: Request, packet_id: uuid.UUID, document_id: uuid.UUID) -> Response:
    session = await current(request)
    require(session, STAFF)
    up = await app_state(request).services.call(
        "intake", "GET", f"/api/v1/ops/packets/{packet_id}/documents/{document_id}", session.user
    )
    await audit_event(
        request,
        session,
        "document.view",
        resource_type="document",
        resource_id=str(document_id),
        packet_id=packet_id,
        outcome="ok" if up.ok else str(up.status),
    )
    if not up.ok:
        return _upstream_problem(up, request)
    disposition = up.headers.get("content-disposition", "inline")
    if request.query_params.get("download"):
        disposition = disposition.replace("inline", "attachment")
    return Response(
        up.body,
        media_type=up.headers.get("content-type"),
        headers={
            "Content-Disposition": disposition,
            "Cache-Control": "private, no-store",
            # Shown inside our own pages only.
            "Content-Security-Policy": "default-src 'none'; frame-ancestors 'self'; style-src 'unsafe-inline'",
        },
    )


# ------------------------------------------------------------------------------------- manual review


@router.get("/review", response_class=HTMLResponse)
async def review_queue(request: Request) -> Response:
    session = await current(request)
    require(session, STAFF)
    st = app_state(request)
    params = [("state", "manual_review"), ("sort", "due_at"), ("limit", "100")]
    if request.query_params.get("cursor"):
        params.append(("cursor", request.query_params["cursor"]))
    listing = await st.services.call("intake", "GET", "/api/v1/ops/packets", session.user, params=params)
    if not listing.ok:
        return _upstream_problem(listing, request)
    return render(request, "review_queue.html", session, page=listing.json())


@router.get("/review/{packet_id}", response_class=HTMLResponse)
async def review_page(request: Request, packet_id: uuid.UUID, conflict: str | None = None) -> Response:
    session = await current(request)
    require(session, STAFF)
    packet = await _packet(request, session, packet_id)
    if isinstance(packet, Response):
        return packet
    validation = await _validation(request, session, packet_id)
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
        dismissal_codes=DISMISSAL_CODES,
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
    packet = await _packet(request, session, packet_id)
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
        validation = await _validation(request, session, packet_id)
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
            dismissal_codes=DISMISSAL_CODES,
            conflict=None,
            errors=errors,
        )
    up = await app_state(request).services.call(
        "intake",
        "PATCH",
        f"/api/v1/ops/packets/{packet_id}",
        session.user,
        json={"corrections": corrections},
        headers={"If-Match": f'"{form.get("version")}"'},
    )
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
        return _upstream_problem(up, request)
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
        return _upstream_problem(up, request)
    return RedirectResponse(f"/packets/{packet_id}?notice={notice}", status_code=303)


async def _form(request: Request) -> Any:
    session = await current(request)
    form = await request.form()
    await check_csrf(request, session, form)
    return form


@router.post("/review/{packet_id}/revalidate")
async def revalidate(request: Request, packet_id: uuid.UUID) -> Response:
    """Ask validation to run again (e.g. after PEER_UNAVAILABLE), without changing any field."""
    form = await _form(request)
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
    form = await _form(request)
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


def install(app: Any) -> None:
    @app.exception_handler(SignInRequired)
    async def _signin(request: Request, _: SignInRequired) -> Response:
        if request.url.path == "/events" or request.headers.get("accept", "").startswith("application/json"):
            return JSONResponse(
                {"title": "Sign in required", "status": 401}, status_code=401, media_type="application/problem+json"
            )
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/signin?{urlencode({'next': target})}", status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, _: Forbidden) -> Response:
        session = getattr(request.state, "session", None)
        return render(request, "forbidden.html", session, status=403)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, _: Exception) -> Response:
        logging.getLogger("wiser.gateway").exception("unhandled error")
        problem = {"title": "Something went wrong", "detail": "Our side failed; the error is logged. Try again."}
        return render(request, "problem.html", None, status=500, problem=problem)


def security_headers(force_https: bool) -> Any:
    """CSP without inline scripts, no framing, no sniffing; HSTS over TLS."""
    csp = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-src 'self'; object-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )

    class Middleware:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await self.app(scope, receive, send)
                return
            tls = scope.get("scheme") == "https" or force_https

            async def send_wrapper(message: Any) -> None:
                if message["type"] == "http.response.start":
                    headers = list(message.get("headers", []))
                    names = {k.lower() for k, _ in headers}
                    extra = [
                        (b"x-content-type-options", b"nosniff"),
                        (b"referrer-policy", b"no-referrer"),
                        (b"x-frame-options", b"DENY"),
                    ]
                    if b"content-security-policy" not in names:
                        extra.append((b"content-security-policy", csp.encode()))
                    else:
                        extra = [e for e in extra if e[0] != b"x-frame-options"]
                    if tls:
                        extra.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
                    message["headers"] = headers + [e for e in extra if e[0] not in names]
                await send(message)

            await self.app(scope, receive, send_wrapper)

    return Middleware
