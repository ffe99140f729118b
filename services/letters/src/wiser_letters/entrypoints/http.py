"""Letters' HTTP API (HTTP_CONTRACTS.md): letter sets by packet, PDFs, history, the approval queue, and the
people's actions on a set (approve, reject, edit, redraft). Every read is audited by the use cases."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from wiser_contracts import roles
from wiser_servicekit.identity import Identity, identity_dependency, require_roles
from wiser_servicekit.problems import Problem, problem_response
from wiser_servicekit.telemetry import tag_packet

from ..usecases import approval, queries
from ..usecases.context import Letters
from ..usecases.errors import Forbidden, Invalid, NotAllowed, NotFound, Refused
from ..usecases.ports import Caller

READERS = roles.ALL  # people through the gateway, and services in their own name
PARTNER_HEADER = "X-Wiser-Partner"  # intake names the partner client it fetches a letter for (the audit trail)
STATUS: dict[type[Refused], int] = {NotFound: 404, Invalid: 422, NotAllowed: 409, Forbidden: 403}


def ctx_of(request: Request) -> Letters:
    return request.app.state.letters  # type: ignore[no-any-return]


def _identity(request: Request) -> Identity:
    return identity_dependency(request.app.state.settings.identity_verifier)(request)


IdentityDep = Annotated[Identity, Depends(_identity)]


def caller_of(identity: Identity, partner: str | None = None) -> Caller:
    service = identity.user_id.removeprefix("svc:") if identity.user_id.startswith("svc:") else None
    return Caller(identity.user_id, identity.roles, service, partner if service == "intake" else None)


def install_refusals(app: FastAPI) -> None:
    @app.exception_handler(Refused)
    async def _refused(_: Request, e: Refused) -> JSONResponse:
        status = next((code for kind, code in STATUS.items() if isinstance(e, kind)), 400)
        return problem_response(Problem(status, e.title, e.detail, code=e.code, errors=e.errors))


router = APIRouter(prefix="/api/v1", tags=["letters"])


@router.get("/letter-sets/by-packet/{packet_id}", summary="A packet's decision letters (or its notice: kind=notice)")
async def set_by_packet(
    request: Request,
    packet_id: uuid.UUID,
    identity: IdentityDep,
    kind: Literal["decision", "notice"] = "decision",
) -> dict[str, Any]:
    require_roles(identity, READERS)
    tag_packet(packet_id)
    return await queries.by_packet(ctx_of(request), packet_id, caller_of(identity), kind)


@router.get("/letter-sets", summary="Sets awaiting a person or blocked, the least time left first")
async def awaiting(
    request: Request,
    identity: IdentityDep,
    status: Annotated[list[Literal["drafted", "blocked", "approved", "rejected"]] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    require_roles(identity, READERS)
    wanted = tuple(status or ("drafted", "blocked"))
    return await queries.pending(ctx_of(request), caller_of(identity), wanted, limit)


@router.get("/letter-sets/{set_id}", summary="A letter set: its current version, letters and check results")
async def letter_set(request: Request, set_id: uuid.UUID, identity: IdentityDep) -> dict[str, Any]:
    require_roles(identity, READERS)
    return await queries.get_set(ctx_of(request), set_id, caller_of(identity))


@router.get("/letter-sets/{set_id}/history", summary="Every version of a set and every approval or rejection")
async def set_history(request: Request, set_id: uuid.UUID, identity: IdentityDep) -> dict[str, Any]:
    require_roles(identity, READERS)
    return await queries.history(ctx_of(request), set_id, caller_of(identity))


@router.get(
    "/letters/{letter_id}/pdf",
    summary="A letter's PDF (intake, for partners: approved versions only)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def letter_pdf(
    request: Request,
    letter_id: uuid.UUID,
    identity: IdentityDep,
    version: Annotated[int | None, Query(ge=1)] = None,
    partner: Annotated[str | None, Header(alias=PARTNER_HEADER, max_length=120)] = None,
) -> Response:
    require_roles(identity, READERS)
    data, served = await queries.pdf(ctx_of(request), letter_id, version, caller_of(identity, partner))
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="letter-{letter_id}-v{served}.pdf"',
            "X-Letter-Version": str(served),
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


class VersionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1, description="The version the person read (refused if it is no longer current).")


class RejectIn(VersionIn):
    reason: str = Field(min_length=1, max_length=2000)


class EditIn(VersionIn):
    paragraphs: dict[Literal["requester", "beneficiary"], dict[Literal["opening", "closing"], str]] = Field(
        description="Free-text paragraphs to rewrite, per letter; an empty text restores the template's."
    )


def _person(identity: Identity) -> Caller:
    if identity.user_id.startswith("svc:"):
        raise Problem(403, "Forbidden", "People approve letters, not services.", code="PERSON_REQUIRED")
    return caller_of(identity)


@router.post("/letter-sets/{set_id}/approve", summary="Approve the set's current version (T14)")
async def approve(request: Request, set_id: uuid.UUID, body: VersionIn, identity: IdentityDep) -> dict[str, Any]:
    s = await approval.approve(ctx_of(request), set_id, body.version, _person(identity))
    tag_packet(s.packet_id)
    return {"set_id": str(set_id), "packet_id": str(s.packet_id), "version": s.version, "status": s.status}


@router.post("/letter-sets/{set_id}/reject", summary="Reject the set's current version with a reason (T15)")
async def reject(request: Request, set_id: uuid.UUID, body: RejectIn, identity: IdentityDep) -> dict[str, Any]:
    s = await approval.reject(ctx_of(request), set_id, body.version, body.reason, _person(identity))
    tag_packet(s.packet_id)
    return {"set_id": str(set_id), "packet_id": str(s.packet_id), "version": s.version, "status": s.status}


@router.post("/letter-sets/{set_id}/edit", summary="Rewrite free-text paragraphs: a new version")
async def edit(request: Request, set_id: uuid.UUID, body: EditIn, identity: IdentityDep) -> dict[str, Any]:
    paragraphs: dict[str, dict[str, str]] = {
        str(r): {str(k): v for k, v in p.items()} for r, p in body.paragraphs.items()
    }
    out = await approval.edit(ctx_of(request), set_id, body.version, paragraphs, _person(identity))
    return {"set_id": str(set_id), "version": out.version, "status": out.status}


@router.post("/letter-sets/{set_id}/redraft", summary="Draw a blocked set again once its data or template is fixed")
async def redraft(request: Request, set_id: uuid.UUID, identity: IdentityDep) -> dict[str, Any]:
    out = await approval.redraft(ctx_of(request), set_id, _person(identity))
    return {"set_id": str(set_id), "version": out.version, "status": out.status, "blocked_reason": out.reason}
