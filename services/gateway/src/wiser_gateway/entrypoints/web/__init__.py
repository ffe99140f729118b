"""The dashboards: server-rendered pages, forms with CSRF tokens, and a little first-party JavaScript."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from . import admin, analytics, clinical, letters, outbound, packets, review, signin
from .common import Forbidden, SignInRequired, render

router = APIRouter(include_in_schema=False)
for module in (signin, packets, review, admin, clinical, analytics, letters, outbound):
    router.include_router(module.router)


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
