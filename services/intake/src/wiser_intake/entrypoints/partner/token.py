"""`POST /oauth/token` (client credentials): guarded per address and client id before any hash."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from wiser_servicekit.clients import request_address
from wiser_servicekit.problems import Problem

from ...adapters.partners import issue_token, secret_matches, unauthorized
from ..deps import ctx_of
from ..schemas import (
    TokenOut,
    problems,
)

router = APIRouter()


WHY = {
    "address": "Too many attempts from this address",
    "name": "Too many failed attempts for this client id",
    "locked": "Too many failed attempts for this client id from this address",
}


def _too_many(wait: float, reason: str = "address") -> Problem:
    return Problem(
        429,
        "Too many requests",
        f"{WHY.get(reason, WHY['address'])}; see Retry-After.",
        code="RATE_LIMITED",
        headers={"Retry-After": str(max(1, int(wait + 0.999)))},
    )


@router.post(
    "/oauth/token",
    summary="OAuth2 client credentials",
    response_model=TokenOut,
    responses=problems(400, 401, 413, 429),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["grant_type", "client_id", "client_secret"],
                        "properties": {
                            "grant_type": {"type": "string", "enum": ["client_credentials"]},
                            "client_id": {"type": "string"},
                            "client_secret": {"type": "string"},
                        },
                    }
                }
            },
        }
    },
)
async def oauth_token(request: Request) -> JSONResponse:
    ctx = ctx_of(request)
    form = await request.form(max_files=0, max_fields=10, max_part_size=4096)
    if form.get("grant_type") != "client_credentials":
        raise Problem(
            400, "Unsupported grant type", "Use grant_type=client_credentials.", code="unsupported_grant_type"
        )
    client_id, secret = str(form.get("client_id") or "")[:200], str(form.get("client_secret") or "")[:500]
    if not client_id or not secret:
        raise unauthorized("client_id and client_secret are required.")
    # Throttled per address and per client id, a client id locked out from one address only; the same answers
    # whether the client id exists or not (nothing below the guard tells them apart, timing included).
    address = request_address(request, ctx.settings.trusted_proxies)
    verdict = ctx.guard.check(address, client_id)
    if not verdict.allowed:
        ctx.refusals.refused(address, verdict.reason)
        raise _too_many(verdict.retry_after, verdict.reason)
    async with ctx.sessions() as session:
        stored = await ctx.partners.secret_hash(session, client_id)
    # scrypt costs ~50 ms of CPU: in a thread (a few at a time), with no pooled connection held.
    if not await ctx.hashes.run(secret_matches, secret, stored):
        ctx.guard.failed(address, client_id)
        raise unauthorized("Unknown client or wrong secret.")
    ctx.guard.succeeded(address, client_id)
    token = issue_token(ctx.settings.partner_token_key, client_id, ctx.settings.partner_token_ttl)
    return JSONResponse(
        {"access_token": token, "token_type": "Bearer", "expires_in": ctx.settings.partner_token_ttl},
        headers={"Cache-Control": "no-store"},
    )
