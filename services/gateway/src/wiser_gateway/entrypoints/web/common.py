"""What every page needs: the session, roles, CSRF, rendering, audit, upstream problems."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from wiser_contracts import messages as m
from wiser_servicekit.clients import request_address

from ...usecases import accounts, audit
from ...usecases.accounts import Session

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parents[2] / "templates"))
COOKIE = "wiser_session"
PRE_CSRF = "wiser_signin"
STATES = tuple(state.value for state in m.PacketState)


class SignInRequired(Exception):
    pass


class Forbidden(Exception):
    pass


def app_state(request: Request) -> Any:
    return request.app.state


def client_ip(request: Request) -> str:
    """The client's address: X-Forwarded-For is believed only from the configured proxies."""
    return request_address(request, app_state(request).settings.trusted_proxies)


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


def time_left(seconds: int) -> str:
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rem = divmod(seconds, 86400)
    hours, rem = divmod(rem, 3600)
    minutes = rem // 60
    text = f"{days}d {hours}h" if days else f"{hours}h {minutes:02d}m"
    return f"{sign}{text}" if not sign else f"overdue {text}"


TEMPLATES.env.globals["time_left"] = time_left


def upstream_problem(up: Any, request: Request | None = None) -> Response:
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


async def read_form(request: Request) -> Any:
    session = await current(request)
    form = await request.form()
    await check_csrf(request, session, form)
    return form
