"""Who is calling: a partner, by access token or API key; rate limited per client."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from wiser_servicekit.problems import Problem

from ...adapters.partners import Partner, token_subject, unauthorized
from ..deps import ctx_of


async def current_partner(request: Request) -> Partner:
    """The calling partner, from an access token or an API key; rate limited."""
    ctx = ctx_of(request)
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        raise unauthorized()
    async with ctx.sessions() as session:
        if value.count(".") == 2:
            client_id = token_subject(ctx.settings.partner_token_key, value)
            partner = await ctx.partners.by_client_id(session, client_id) if client_id else None
        else:
            partner = await ctx.partners.by_api_key(session, value)
    if partner is None:
        raise unauthorized()
    wait = ctx.limiter.take(partner.client_id, partner.rate_limit_per_minute)
    if wait > 0:
        raise Problem(
            429,
            "Too many requests",
            "Slow down; see Retry-After.",
            code="RATE_LIMITED",
            headers={"Retry-After": str(max(1, int(wait + 0.999)))},
        )
    return partner


PartnerDep = Annotated[Partner, Depends(current_partner)]
