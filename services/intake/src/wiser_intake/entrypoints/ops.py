"""The ops API behind the gateway (people's and services' identity tokens): search, counts, detail, documents,
corrections (T5), dismissal (T6), withdrawal (T19)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from wiser_contracts import messages as m
from wiser_contracts import roles
from wiser_servicekit.identity import Identity, identity_dependency, require_roles
from wiser_servicekit.problems import Problem
from wiser_servicekit.telemetry import tag_packet

from ..usecases import packets as uc
from ..usecases.history_views import export_history
from ..usecases.transitions import reannounce
from .deps import CORRECTORS, DISMISSERS, READERS, STAFF, WithdrawIn, content_disposition, ctx_of
from .schemas import OpsPage, PacketDetail, problems

# ---------------------------------------------------------------------------------------- ops API


def _identity(request: Request) -> Identity:
    return identity_dependency(ctx_of(request).settings.identity_verifier)(request)


IdentityDep = Annotated[Identity, Depends(_identity)]
ops_router = APIRouter(prefix="/api/v1/ops", tags=["ops"])


def _if_match(value: str | None) -> int:
    if not value:
        raise Problem(428, "If-Match required", "Send the packet's ETag in If-Match.", code="PRECONDITION_REQUIRED")
    cleaned = value.strip().removeprefix("W/").strip('"')
    try:
        return int(cleaned)
    except ValueError as e:
        raise Problem(412, "Bad If-Match", "If-Match must be the packet's ETag.", code="VERSION_MISMATCH") from e


@ops_router.get(
    "/packets", summary="Search packets", response_model=OpsPage, responses=problems(400, 401, 403, 413, 422)
)
async def ops_search(
    request: Request,
    identity: IdentityDep,
    state: Annotated[list[str] | None, Query()] = None,
    service_code: str | None = None,
    state_of_service: str | None = None,
    review_type: Literal["standard", "expedited"] | None = None,
    due_before: datetime | None = None,
    at_risk: bool | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    sort: str = "-received_at",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    require_roles(identity, STAFF)
    return await uc.search_packets(
        ctx_of(request),
        state=state,
        service_code=service_code,
        state_of_service=state_of_service,
        review_type=review_type,
        due_before=due_before,
        at_risk=at_risk,
        q=q,
        sort=sort,
        cursor=cursor,
        limit=limit,
    )


@ops_router.get("/packets/counts", summary="Packets per state", responses=problems(401, 403, 413))
async def ops_counts(request: Request, identity: IdentityDep) -> dict[str, int]:
    require_roles(identity, STAFF)
    return await uc.state_counts(ctx_of(request))


@ops_router.get(
    "/packets/{packet_id}",
    summary="Packet detail with history, documents and corrections",
    response_model=PacketDetail,
    responses=problems(401, 403, 404, 413, 422),
)
async def ops_detail(
    request: Request,
    packet_id: uuid.UUID,
    identity: IdentityDep,
    view: Annotated[
        Literal["full", "facts"],
        Query(description="`facts`: no history, documents or corrections; `document_count` instead (validation)"),
    ] = "full",
) -> JSONResponse:
    require_roles(identity, READERS)
    tag_packet(packet_id)
    if view == "facts":
        detail = await uc.packet_facts(ctx_of(request), packet_id)
    else:
        detail = await uc.packet_detail(ctx_of(request), packet_id)
    return JSONResponse(detail, headers={"ETag": f'"{detail["version"]}"'})


@ops_router.get(
    "/packets/{packet_id}/documents/{document_id}",
    summary="A document's bytes",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}, "image/tiff": {}, "image/png": {}, "image/jpeg": {}}},
        **problems(401, 403, 404, 413, 422),
    },
)
async def ops_document(
    request: Request, packet_id: uuid.UUID, document_id: uuid.UUID, identity: IdentityDep
) -> Response:
    require_roles(identity, READERS)  # people, and services reading on a person's behalf (clinical)
    tag_packet(packet_id)
    doc, body = await uc.document_for(ctx_of(request), packet_id, document_id)
    return StreamingResponse(
        body,
        media_type=doc.content_type,
        headers={
            "Content-Length": str(doc.size),
            "Content-Disposition": content_disposition("inline", doc.filename),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


class Correction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str = Field(max_length=80, examples=["beneficiary.mbi"])
    value: Any = Field(description="The corrected value (JSON).")
    reason: str = Field(min_length=1, max_length=500)


class CorrectionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    corrections: list[Correction] = Field(min_length=1, max_length=50)


@ops_router.patch(
    "/packets/{packet_id}",
    summary="Correct fields and validate again (T5)",
    response_model=PacketDetail,
    responses=problems(401, 403, 404, 409, 412, 413, 422, 428),
)
async def ops_correct(
    request: Request,
    packet_id: uuid.UUID,
    body: CorrectionsIn,
    identity: IdentityDep,
    if_match: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    require_roles(identity, CORRECTORS)
    tag_packet(packet_id)
    ctx = ctx_of(request)
    await uc.correct_packet(ctx, identity, packet_id, _if_match(if_match), [c.model_dump() for c in body.corrections])
    detail = await uc.packet_detail(ctx, packet_id)
    return JSONResponse(detail, headers={"ETag": f'"{detail["version"]}"'})


class DismissIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(max_length=40, examples=["INVALID_BENEFICIARY"])
    note: str = Field(min_length=1, max_length=2000)


@ops_router.post(
    "/packets/{packet_id}/dismiss",
    summary="Dismiss from manual review (T6)",
    response_model=PacketDetail,
    responses=problems(401, 403, 404, 409, 413, 422),
)
async def ops_dismiss(request: Request, packet_id: uuid.UUID, body: DismissIn, identity: IdentityDep) -> dict[str, Any]:
    require_roles(identity, DISMISSERS)
    tag_packet(packet_id)
    ctx = ctx_of(request)
    await uc.dismiss_packet(ctx, identity, packet_id, body.code, body.note)
    return await uc.packet_detail(ctx, packet_id)


@ops_router.post(
    "/packets/{packet_id}/withdraw",
    summary="Withdraw on the requester's behalf (T19)",
    response_model=PacketDetail,
    responses=problems(401, 403, 404, 409, 413, 422),
)
async def ops_withdraw(
    request: Request, packet_id: uuid.UUID, body: WithdrawIn, identity: IdentityDep
) -> dict[str, Any]:
    require_roles(identity, ("supervisor",))
    tag_packet(packet_id)
    ctx = ctx_of(request)
    await uc.withdraw_packet(ctx, packet_id, body.reason, identity=identity)
    return await uc.packet_detail(ctx, packet_id)


@ops_router.get(
    "/history/export",
    summary="Every history row with the packet facts analytics needs, in a stable order, paged (services only)",
)
async def ops_history_export(
    request: Request,
    identity: IdentityDep,
    after: Annotated[str | None, Query(max_length=40, description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> dict[str, Any]:
    """Read-only: analytics replays it to rebuild its read models (HTTP_CONTRACTS.md). Ids and codes only."""
    require_roles(identity, ("service",))
    return await export_history(ctx_of(request), after, limit)


class ReannounceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: m.PacketState = Field(examples=["clinical_queue"])


REANNOUNCERS = (roles.ADMIN, roles.SUPERVISOR, roles.SERVICE)


@ops_router.post("/packets/reannounce", summary="Publish again the current transition of every packet in a state")
async def ops_reannounce(request: Request, body: ReannounceIn, identity: IdentityDep) -> dict[str, Any]:
    """For a service deployed after packets reached the state it acts on: each packet's transition into `state`
    is published again (same content, new message id); consumers are idempotent about it."""
    require_roles(identity, REANNOUNCERS)
    count = await reannounce(ctx_of(request).uow, body.state)
    return {"state": body.state.value, "reannounced": count}
