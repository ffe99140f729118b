"""Webhook registration (PARTNER_API.md "Webhooks"); outbound delivers them."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from wiser_servicekit.problems import Problem

from ...domain.webhook_urls import WebhookUrlRefused
from ...usecases import webhooks as webhook_uc
from ..deps import ctx_of
from ..schemas import (
    WebhookCreated,
    WebhookList,
    WebhookOut,
    problems,
)
from .auth import PartnerDep

router = APIRouter()

WEBHOOK_EVENTS = ("packet.transitioned", "packet.determined", "packet.reclassified", "letter.available")
WEBHOOK_EVENT = Literal["packet.transitioned", "packet.determined", "packet.reclassified", "letter.available"]


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://[^\s\x00-\x1f\x7f]+$")
    events: list[Literal[WEBHOOK_EVENT]] = Field(min_length=1, max_length=len(WEBHOOK_EVENTS))


def _not_found() -> Problem:
    return Problem(404, "Not found", "No such webhook.", code="WEBHOOK_NOT_FOUND")


@router.post(
    "/api/v1/webhooks",
    status_code=201,
    summary="Register a webhook",
    response_model=WebhookCreated,
    responses=problems(401, 409, 413, 422, 429),
)
async def register_webhook(request: Request, body: WebhookIn, partner: PartnerDep) -> dict[str, Any]:
    try:
        return await webhook_uc.register(ctx_of(request), partner.client_id, body.url, list(body.events))
    except WebhookUrlRefused as e:
        raise Problem(
            422,
            "Webhook URL not allowed",
            f"The webhook URL is refused: {e.message}.",
            code="VALIDATION_FAILED",
            errors=[{"field": "url", "code": e.code, "message": e.message}],
        ) from e
    except webhook_uc.WebhookExists as e:
        raise Problem(409, "Webhook exists", "A webhook with this URL is registered.", code="WEBHOOK_EXISTS") from e


@router.get(
    "/api/v1/webhooks",
    summary="The partner's webhooks",
    response_model=WebhookList,
    responses=problems(401, 413, 429),
)
async def list_webhooks(request: Request, partner: PartnerDep) -> dict[str, Any]:
    return await webhook_uc.listing(ctx_of(request), partner.client_id)


@router.get(
    "/api/v1/webhooks/{webhook_id}",
    summary="One webhook",
    response_model=WebhookOut,
    responses=problems(401, 404, 413, 422, 429),
)
async def get_webhook(request: Request, webhook_id: uuid.UUID, partner: PartnerDep) -> dict[str, Any]:
    try:
        return await webhook_uc.one(ctx_of(request), partner.client_id, webhook_id)
    except webhook_uc.WebhookNotFound as e:
        raise _not_found() from e


@router.delete(
    "/api/v1/webhooks/{webhook_id}",
    status_code=204,
    summary="Remove a webhook",
    response_class=Response,
    responses=problems(401, 404, 413, 422, 429),
)
async def delete_webhook(request: Request, webhook_id: uuid.UUID, partner: PartnerDep) -> Response:
    try:
        await webhook_uc.remove(ctx_of(request), partner.client_id, webhook_id)
    except webhook_uc.WebhookNotFound as e:
        raise _not_found() from e
    return Response(status_code=204)
