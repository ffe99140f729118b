"""Outbound's HTTP API: the ops view of deliveries and webhooks, "retry now" (T18), parked messages, and the
providers' status callbacks (verified by signature, no identity token: providers have none)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from wiser_contracts import messages as m
from wiser_contracts import roles
from wiser_servicekit.identity import (
    LEEWAY,
    ON_BEHALF_HEADER,
    CommandTokenRefused,
    Identity,
    identity_dependency,
    require_roles,
)
from wiser_servicekit.problems import Problem
from wiser_servicekit.telemetry import tag_packet

from ..adapters.channels import callback_fields, fax_signature_ok, mail_signature_ok
from ..usecases import delivery, queries
from ..usecases.context import Outbound
from ..usecases.errors import NotAllowed, NotFound

STAFF = roles.PEOPLE
RETRIERS = roles.DISMISSERS  # T18: ops_tier2, supervisor
CHANNELS = ("fax", "mail", "esmd", "email", "webhook")


def ctx_of(request: Request) -> Outbound:
    return request.app.state.outbound  # type: ignore[no-any-return]


def _identity(request: Request) -> Identity:
    return identity_dependency(request.app.state.settings.identity_verifier)(request)


IdentityDep = Annotated[Identity, Depends(_identity)]
router = APIRouter(prefix="/api/v1/outbound", tags=["outbound"])
callbacks_router = APIRouter(prefix="/callbacks", tags=["provider callbacks"])


@router.get("/deliveries", summary="Letter deliveries by status and channel, each copy's attempts and answers")
async def list_deliveries(
    request: Request,
    identity: IdentityDep,
    status: Literal["sending", "completed", "failed"] | None = None,
    channel: Literal["fax", "mail", "esmd", "email", "webhook"] | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    require_roles(identity, STAFF)
    ctx = ctx_of(request)
    items = await queries.listing(ctx, status=status, channel=channel, limit=limit)
    return {"items": items, "counts": await queries.counts(ctx)}


@router.get("/packets/{packet_id}/deliveries", summary="One packet's deliveries (every round)")
async def packet_deliveries(request: Request, packet_id: uuid.UUID, identity: IdentityDep) -> dict[str, Any]:
    require_roles(identity, STAFF)
    tag_packet(packet_id)
    ctx = ctx_of(request)
    items = await queries.listing(ctx, status=None, channel=None, limit=200, packet_id=packet_id)
    hooks = await queries.webhook_deliveries_of(ctx, packet_id=packet_id, status=None, limit=200)
    return {"packet_id": str(packet_id), "deliveries": items, "webhooks": hooks}


@router.get("/webhook-deliveries", summary="Partner webhook deliveries with every attempt and the partner's answer")
async def webhook_deliveries(
    request: Request,
    identity: IdentityDep,
    packet_id: uuid.UUID | None = None,
    status: Literal["pending", "delivered", "failed", "cancelled"] | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    require_roles(identity, STAFF)
    items = await queries.webhook_deliveries_of(ctx_of(request), packet_id=packet_id, status=status, limit=limit)
    return {"items": items}


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=120)
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    state: str = Field(pattern=r"^[A-Z]{2}$")
    zip: str = Field(pattern=r"^\d{5}(-\d{4})?$")


class RetryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fax: str | None = Field(default=None, pattern=r"^\+1\d{10}$", examples=["+12015550123"])
    address: Address | None = None
    reason: str | None = Field(default=None, max_length=500)


@router.post(
    "/packets/{packet_id}/retry",
    status_code=202,
    summary="Retry a failed delivery now (T18), optionally with a corrected fax number or address",
)
async def retry(
    request: Request,
    packet_id: uuid.UUID,
    body: RetryIn,
    identity: IdentityDep,
    on_behalf_of: Annotated[str | None, Header(alias=ON_BEHALF_HEADER)] = None,
) -> dict[str, Any]:
    """Intake acts on the command only for the person in its gateway-signed, bound `on_behalf_of` token."""
    require_roles(identity, RETRIERS)
    tag_packet(packet_id)
    if not on_behalf_of:
        raise Problem(
            403, "Command token required", f"Send the gateway's token in {ON_BEHALF_HEADER}.", code="ON_BEHALF_REQUIRED"
        )
    now = datetime.now(UTC)
    try:
        person = request.app.state.settings.identity_verifier().command(
            on_behalf_of,
            packet_id=packet_id,
            action=m.RetryDelivery.TYPE,
            issued_at=now,
            max_age=600,
            now=now.timestamp(),
            skew=LEEWAY,
        )
    except CommandTokenRefused as e:
        raise Problem(403, "Invalid command token", e.reason, code="ON_BEHALF_INVALID") from e
    if person.user_id != identity.user_id:
        raise Problem(403, "Invalid command token", "It names someone else.", code="ON_BEHALF_INVALID")
    try:
        result = await delivery.retry(
            ctx_of(request),
            packet_id,
            body.fax,
            body.address.model_dump() if body.address else None,
            identity.user_id,
            on_behalf_of,
        )
    except NotFound as e:
        raise Problem(404, "Not found", e.detail, code=e.code) from e
    except NotAllowed as e:
        raise Problem(409, "Not retryable", e.detail, code=e.code) from e
    request.app.state.bus.wake_relay()
    return result


# ---------------------------------------------------------------------------------- provider callbacks


async def _callback(request: Request, provider: str, ok: bool, raw: bytes) -> dict[str, Any]:
    if not ok:
        raise Problem(401, "Bad signature", "The callback's signature does not verify.", code="BAD_SIGNATURE")
    try:
        doc = json.loads(raw)
        event_id, reference, delivered = callback_fields(provider, doc)
    except (ValueError, KeyError, TypeError) as e:
        raise Problem(400, "Malformed callback", "Not the provider's callback shape.", code="MALFORMED") from e
    result = await delivery.confirm(ctx_of(request), provider, event_id, reference, delivered, doc)
    request.app.state.bus.wake_relay()
    return {"result": result}


@callbacks_router.post("/fax", summary="The fax provider's status callback (X-Fax-Signature)")
async def fax_callback(request: Request, x_fax_signature: Annotated[str, Header()] = "") -> dict[str, Any]:
    raw = await request.body()
    secret = request.app.state.settings.fax_callback_secret
    return await _callback(request, "fax", fax_signature_ok(secret, x_fax_signature, raw), raw)


@callbacks_router.post("/mail", summary="The mail provider's delivery events (Mail-Signature)")
async def mail_callback(request: Request, mail_signature: Annotated[str, Header()] = "") -> dict[str, Any]:
    raw = await request.body()
    secret = request.app.state.settings.mail_callback_secret
    return await _callback(request, "mail", mail_signature_ok(secret, mail_signature, raw), raw)
