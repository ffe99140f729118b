"""Submit, read, list and withdraw packets; add documents (PARTNER_API.md "Packets", "Documents")."""

from __future__ import annotations

import hashlib
import json
import tempfile
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from wiser_contracts import messages as m
from wiser_servicekit.problems import Problem, validation_errors
from wiser_servicekit.telemetry import tag_packet

from ...domain.documents import ACCEPTED, CATEGORIES, MAX_DOCUMENT_BYTES, MAX_DOCUMENTS, safe_filename, sniff
from ...domain.packet import PacketIn
from ...usecases import packets as uc
from ..deps import WithdrawIn, ctx_of
from ..schemas import (
    DocumentOut,
    PacketPage,
    PacketView,
    SubmitResult,
    problems,
)
from .auth import PartnerDep

router = APIRouter()

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


@router.post(
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


@router.get(
    "/api/v1/packets/{packet_id}",
    summary="A packet's state, decision, letters and history",
    response_model=PacketView,
    responses=problems(401, 404, 413, 422, 429),
)
async def get_packet(request: Request, packet_id: uuid.UUID, partner: PartnerDep) -> dict[str, Any]:
    tag_packet(packet_id)
    return await uc.get_for_partner(ctx_of(request), partner.client_id, packet_id)


@router.get(
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


@router.post(
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


@router.post(
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
