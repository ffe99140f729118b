"""A decision letter, fetched from letters in intake's own name once the partner's access is checked."""

from __future__ import annotations

import uuid

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response

from wiser_servicekit.identity import issue_service_token
from wiser_servicekit.problems import Problem

from ...usecases import packets as uc
from ..deps import ctx_of
from ..schemas import (
    problems,
)
from .auth import PartnerDep

router = APIRouter()


@router.get(
    "/api/v1/packets/{packet_id}/letters/{letter_id}",
    summary="A decision letter (PDF)",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "The letter"},
        **problems(401, 404, 413, 422, 429, 502, 503),
    },
)
async def get_letter(request: Request, packet_id: uuid.UUID, letter_id: uuid.UUID, partner: PartnerDep) -> Response:
    ctx = ctx_of(request)
    view = await uc.get_for_partner(ctx, partner.client_id, packet_id)
    if not any(lt["letter_id"] == str(letter_id) for lt in view["letters"]):
        raise Problem(404, "Not found", "No such letter for this packet.", code="LETTER_NOT_FOUND")
    # Intake asks for the PDF in its own name (the service role); the partner's access was checked above.
    token = issue_service_token(ctx.settings.signing_key(), ctx.settings.identity_issuer)
    try:
        async with httpx.AsyncClient(base_url=ctx.settings.letters_url, timeout=10) as client:
            # Letters serves intake approved versions only, and audits the view for this partner client.
            r = await client.get(
                f"/api/v1/letters/{letter_id}/pdf",
                headers={"Authorization": f"Bearer {token}", "X-Wiser-Partner": partner.client_id},
            )
    except httpx.HTTPError as e:
        raise Problem(
            503, "Letters unavailable", "Try again shortly.", code="UPSTREAM_UNAVAILABLE", headers={"Retry-After": "30"}
        ) from e
    if r.status_code != 200:
        raise Problem(502 if r.status_code >= 500 else 404, "Letter not available", code="LETTER_NOT_AVAILABLE")
    return Response(
        r.content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="letter-{letter_id}.pdf"'},
    )
