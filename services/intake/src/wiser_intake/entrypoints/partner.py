"""The partner API (PARTNER_API.md): OAuth2, submit, read, withdraw, documents, letters, webhooks."""

from __future__ import annotations

import hashlib
import json
import tempfile
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import httpx
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import UploadFile

from wiser_contracts import messages as m
from wiser_servicekit.clients import request_address
from wiser_servicekit.identity import issue_service_token
from wiser_servicekit.problems import Problem, validation_errors
from wiser_servicekit.telemetry import tag_packet

from ..adapters.partners import Partner, issue_token, secret_matches, token_subject, unauthorized
from ..domain.documents import ACCEPTED, CATEGORIES, MAX_DOCUMENT_BYTES, MAX_DOCUMENTS, safe_filename, sniff
from ..domain.packet import PacketIn
from ..domain.webhook_urls import WebhookUrlRefused
from ..usecases import packets as uc
from ..usecases import webhooks as webhook_uc
from .deps import WithdrawIn, ctx_of
from .schemas import (
    DocumentOut,
    PacketPage,
    PacketView,
    SubmitResult,
    TokenOut,
    WebhookCreated,
    WebhookList,
    WebhookOut,
    problems,
)

WEBHOOK_EVENTS = ("packet.transitioned", "packet.determined", "packet.reclassified", "letter.available")
WEBHOOK_EVENT = Literal["packet.transitioned", "packet.determined", "packet.reclassified", "letter.available"]


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


# ------------------------------------------------------------------------------------ documents


async def _accept_upload(upload: UploadFile, category: str = "clinical") -> uc.IncomingDocument:
    """Check an uploaded file by its bytes and size; hash it. Nothing is stored yet."""
    size = upload.size if upload.size is not None else None
    if size is not None and size > MAX_DOCUMENT_BYTES:
        raise Problem(
            413,
            "Document too large",
            f"Each document may be at most {MAX_DOCUMENT_BYTES // 2**20} MB.",
            code="DOCUMENT_TOO_LARGE",
        )
    await upload.seek(0)
    head = await upload.read(16)
    detected = sniff(head)
    if detected is None:
        raise Problem(
            415,
            "Unsupported document type",
            f"Documents must be one of {', '.join(ACCEPTED)}; the file's bytes are not.",
            code="UNSUPPORTED_MEDIA_TYPE",
        )
    digest = hashlib.sha256(head)
    spool = tempfile.SpooledTemporaryFile(max_size=2**20)  # on disk past 1 MB: no whole document in memory
    spool.write(head)
    total = len(head)
    while chunk := await upload.read(256 * 1024):
        total += len(chunk)
        if total > MAX_DOCUMENT_BYTES:
            raise Problem(
                413,
                "Document too large",
                f"Each document may be at most {MAX_DOCUMENT_BYTES // 2**20} MB.",
                code="DOCUMENT_TOO_LARGE",
            )
        digest.update(chunk)
        spool.write(chunk)
    spool.seek(0)
    if category not in CATEGORIES:
        raise Problem(
            422,
            "Invalid category",
            f"category must be one of {', '.join(CATEGORIES)}.",
            code="VALIDATION_FAILED",
            errors=[{"field": "category", "code": "ENUM", "message": "unknown"}],
        )
    return uc.IncomingDocument(
        document_id=uuid.uuid4(),
        filename=safe_filename(upload.filename),
        content_type=detected,
        size=total,
        sha256=digest.hexdigest(),
        category=category,
        fileobj=spool,
    )


def _parse_packet(raw: bytes | str) -> tuple[PacketIn, dict[str, Any]]:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:  # RecursionError: nested too deep
        raise Problem(
            422,
            "Invalid request",
            "The packet is not valid JSON (or is nested too deep).",
            code="VALIDATION_FAILED",
            errors=[{"field": "", "code": "JSON_INVALID", "message": "not valid JSON"}],
        ) from e
    if not isinstance(data, dict):
        raise Problem(
            422,
            "Invalid request",
            "The packet must be a JSON object.",
            code="VALIDATION_FAILED",
            errors=[{"field": "", "code": "TYPE", "message": "must be an object"}],
        )
    try:
        return PacketIn.model_validate(data), data
    except ValidationError as e:
        raise Problem(
            422,
            "Invalid packet",
            "The packet is malformed; nothing was stored.",
            code="VALIDATION_FAILED",
            errors=validation_errors(list(e.errors())),
        ) from e


# ------------------------------------------------------------------------------------ partner API

partner_router = APIRouter(tags=["partner"])


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


@partner_router.post(
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


SUBMIT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/PacketIn"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["packet"],
                    "properties": {
                        "packet": {"type": "string", "description": "The packet as JSON (PacketIn)."},
                        "documents": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "PDF, TIFF, PNG or JPEG; at most 50 MB each, 20 per packet.",
                        },
                    },
                }
            },
        },
    }
}


@partner_router.post(
    "/api/v1/packets",
    status_code=201,
    response_model=SubmitResult,
    openapi_extra=SUBMIT_BODY,
    summary="Submit a packet (JSON, or multipart with documents)",
    responses={
        200: {"model": SubmitResult, "description": "Replay of an earlier request with the same Idempotency-Key"},
        **problems(401, 413, 415, 422, 429),
    },
)
async def submit(
    request: Request,
    partner: PartnerDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    ctx = ctx_of(request)
    content_type = request.headers.get("content-type", "")
    docs: list[uc.IncomingDocument] = []
    if content_type.startswith("multipart/form-data"):
        declared = int(request.headers.get("content-length") or 0)
        if declared > MAX_DOCUMENTS * MAX_DOCUMENT_BYTES + 2**20:
            raise Problem(413, "Request too large", "The request exceeds the document limits.", code="TOO_LARGE")
        form = await request.form(max_files=MAX_DOCUMENTS + 1, max_fields=10, max_part_size=2**20)
        try:
            raw = form.get("packet")
            if raw is None:
                raise Problem(
                    422,
                    "Invalid request",
                    "The `packet` part is required.",
                    code="VALIDATION_FAILED",
                    errors=[{"field": "packet", "code": "MISSING", "message": "required"}],
                )
            raw_bytes = await raw.read() if isinstance(raw, UploadFile) else raw.encode()
            packet, data = _parse_packet(raw_bytes)
            uploads = [u for u in form.getlist("documents") if isinstance(u, UploadFile)]
            if len(uploads) > MAX_DOCUMENTS:
                raise Problem(
                    413,
                    "Too many documents",
                    f"At most {MAX_DOCUMENTS} documents per packet.",
                    code="TOO_MANY_DOCUMENTS",
                )
            for upload in uploads:
                docs.append(await _accept_upload(upload))
        finally:
            await form.close()
    elif content_type.startswith("application/json"):
        packet, data = _parse_packet(await request.body())
    else:
        raise Problem(
            415,
            "Unsupported media type",
            "Send application/json or multipart/form-data.",
            code="UNSUPPORTED_MEDIA_TYPE",
        )
    created, summary = await uc.submit_packet(
        ctx,
        partner.client_id,
        packet,
        docs,
        idempotency_key=idempotency_key,
        req_hash=uc.request_hash(data, docs),
        channel=ctx.settings.channel_of(partner.client_id),
    )
    tag_packet(summary["packet_id"])
    return JSONResponse(
        summary, status_code=201 if created else 200, headers={"Location": f"/api/v1/packets/{summary['packet_id']}"}
    )


@partner_router.get(
    "/api/v1/packets/{packet_id}",
    summary="A packet's state, decision, letters and history",
    response_model=PacketView,
    responses=problems(401, 404, 413, 422, 429),
)
async def get_packet(request: Request, packet_id: uuid.UUID, partner: PartnerDep) -> dict[str, Any]:
    tag_packet(packet_id)
    return await uc.get_for_partner(ctx_of(request), partner.client_id, packet_id)


@partner_router.get(
    "/api/v1/packets",
    summary="The partner's packets, newest first",
    response_model=PacketPage,
    responses=problems(400, 401, 413, 422, 429),
)
async def list_packets(
    request: Request,
    partner: PartnerDep,
    external_ref: str | None = None,
    state: m.PacketState | None = None,
    updated_since: datetime | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    return await uc.list_for_partner(
        ctx_of(request),
        partner.client_id,
        external_ref=external_ref,
        state=state.value if state else None,
        updated_since=updated_since,
        cursor=cursor,
        limit=limit,
    )


@partner_router.post(
    "/api/v1/packets/{packet_id}/withdraw",
    summary="Withdraw before a determination",
    response_model=PacketView,
    responses=problems(401, 404, 409, 413, 422, 429),
)
async def withdraw(request: Request, packet_id: uuid.UUID, body: WithdrawIn, partner: PartnerDep) -> dict[str, Any]:
    tag_packet(packet_id)
    ctx = ctx_of(request)
    await uc.withdraw_packet(ctx, packet_id, body.reason, partner=partner.client_id)
    return await uc.get_for_partner(ctx, partner.client_id, packet_id)


@partner_router.post(
    "/api/v1/packets/{packet_id}/documents",
    status_code=201,
    summary="Add a document",
    response_model=DocumentOut,
    responses=problems(401, 404, 409, 413, 415, 422, 429),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "category": {"type": "string", "enum": list(CATEGORIES)},
                        },
                    }
                }
            },
        }
    },
)
async def add_document(request: Request, packet_id: uuid.UUID, partner: PartnerDep) -> dict[str, Any]:
    tag_packet(packet_id)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise Problem(
            415, "Unsupported media type", "Send multipart/form-data with a `file` part.", code="UNSUPPORTED_MEDIA_TYPE"
        )
    form = await request.form(max_files=1, max_fields=5)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise Problem(
                422,
                "Invalid request",
                "The `file` part is required.",
                code="VALIDATION_FAILED",
                errors=[{"field": "file", "code": "MISSING", "message": "required"}],
            )
        doc = await _accept_upload(upload, str(form.get("category") or "clinical"))
    finally:
        await form.close()
    return await uc.add_document(ctx_of(request), partner.client_id, packet_id, doc)


@partner_router.get(
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


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://[^\s\x00-\x1f\x7f]+$")
    events: list[Literal[WEBHOOK_EVENT]] = Field(min_length=1, max_length=len(WEBHOOK_EVENTS))


def _not_found() -> Problem:
    return Problem(404, "Not found", "No such webhook.", code="WEBHOOK_NOT_FOUND")


@partner_router.post(
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


@partner_router.get(
    "/api/v1/webhooks",
    summary="The partner's webhooks",
    response_model=WebhookList,
    responses=problems(401, 413, 429),
)
async def list_webhooks(request: Request, partner: PartnerDep) -> dict[str, Any]:
    return await webhook_uc.listing(ctx_of(request), partner.client_id)


@partner_router.get(
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


@partner_router.delete(
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
