"""Sign-in, sign-out and the home redirect."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ...usecases import accounts, audit
from ...usecases.accounts import SignInFailed
from .common import COOKIE, PRE_CSRF, app_state, audit_event, check_csrf, client_ip, current, render

router = APIRouter(include_in_schema=False)


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
    # Throttled per address and per username; a username locked out from this address only (nobody can lock a
    # colleague out from elsewhere); unknown and known names get the same answers.
    address = client_ip(request)
    verdict = st.signin_guard.check(address, username)
    if not verdict.allowed:
        locked = verdict.reason == "locked"
        refused = render(
            request,
            "signin.html",
            None,
            status=423 if locked else 429,
            next=nxt,
            error="locked" if locked else "rate",
            signin_csrf=pre,
        )
        refused.headers["Retry-After"] = str(max(1, int(verdict.retry_after + 0.999)))
        return refused
    try:
        user = await accounts.authenticate(st.sessions, username, password, st.hashes)
    except SignInFailed as failed:
        reason = "locked" if st.signin_guard.failed(address, username) else failed.reason
        await audit.record(
            st.sessions,
            None,
            "signin.failed",
            ip=client_ip(request),
            outcome=reason,
            user_agent=request.headers.get("user-agent"),
            detail={"username": username[:80]},
        )
        return render(
            request,
            "signin.html",
            None,
            status=401 if reason == "invalid" else 423,
            next=nxt,
            error=reason,
            signin_csrf=pre,
        )
    st.signin_guard.succeeded(address, username)
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
