"""Validation's HTTP API: findings per packet, ops re-run (`router`), and the reference data in force
(`reference_router`, also served alone by `python -m wiser_validation serve-reference`)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
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

from ..reference import FILES
from ..usecases.report import report
from ..usecases.validate import Validation, request_rerun

STAFF = roles.PEOPLE
RERUNNERS = roles.CORRECTORS


def validation_of(request: Request) -> Validation:
    return request.app.state.validation  # type: ignore[no-any-return]


def _identity(request: Request) -> Identity:
    settings = request.app.state.settings
    return identity_dependency(settings.identity_verifier)(request)


def _on_behalf(request: Request, identity: Identity, token: str | None, packet_id: uuid.UUID, action: str) -> str:
    """The caller's command token for `action` on this packet, checked now; 403 unless it is theirs and bound so."""
    if not token:
        raise Problem(
            403,
            "Command token required",
            f"Send the gateway's token for this action in {ON_BEHALF_HEADER}.",
            code="ON_BEHALF_REQUIRED",
        )
    now = datetime.now(UTC)
    try:
        person = request.app.state.settings.identity_verifier().command(
            token, packet_id=packet_id, action=action, issued_at=now, max_age=600, now=now.timestamp(), skew=LEEWAY
        )
    except CommandTokenRefused as e:
        raise Problem(403, "Invalid command token", e.reason, code="ON_BEHALF_INVALID") from e
    if person.user_id != identity.user_id:
        raise Problem(403, "Invalid command token", "It names someone else.", code="ON_BEHALF_INVALID")
    return token


IdentityDep = Annotated[Identity, Depends(_identity)]
router = APIRouter(prefix="/api/v1", tags=["validation"])


@router.get("/validation/packets/{packet_id}", summary="Every validation run of a packet with every check's result")
async def findings(request: Request, packet_id: uuid.UUID, identity: IdentityDep) -> dict[str, Any]:
    require_roles(identity, STAFF)
    tag_packet(packet_id)
    sessions = validation_of(request).sessions
    assert sessions is not None
    out = await report(sessions, packet_id)
    if not out["runs"]:
        raise Problem(404, "Not found", "This packet has not been validated.", code="NOT_VALIDATED")
    return out


class RerunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500, examples=["HETS is back"])


@router.post(
    "/validation/packets/{packet_id}/rerun",
    status_code=202,
    summary="Validate a packet in manual review again (e.g. after PEER_UNAVAILABLE)",
)
async def rerun(
    request: Request,
    packet_id: uuid.UUID,
    body: RerunIn,
    identity: IdentityDep,
    on_behalf_of: Annotated[str | None, Header(alias=ON_BEHALF_HEADER)] = None,
) -> dict[str, Any]:
    """Intake acts on the command only for the person in its gateway-signed, bound `on_behalf_of` token."""
    require_roles(identity, RERUNNERS)
    tag_packet(packet_id)
    token = _on_behalf(request, identity, on_behalf_of, packet_id, m.RevalidatePacket.TYPE)
    command = await request_rerun(validation_of(request), packet_id, identity.user_id, token, body.reason)
    return {"packet_id": str(packet_id), "command_id": str(command.message_id), "status": "requested"}


reference_router = APIRouter(prefix="/api/v1", tags=["reference"])
REFERENCE_READERS = (*roles.PEOPLE, roles.SERVICE)  # services read the shared lists too (intake, gateway, letters)


async def _documents(request: Request) -> dict[str, Any]:
    return await request.app.state.reference.documents()  # type: ignore[no-any-return]


def _version_in_force(doc: dict[str, Any], name: str, day: date) -> dict[str, Any]:
    in_force = [v for v in doc["versions"] if date.fromisoformat(v["effective"]) <= day]
    if not in_force:
        raise Problem(404, "Not in force", f"No version of {name!r} in force on {day}.", code="REFERENCE_NOT_IN_FORCE")
    return max(in_force, key=lambda v: v["effective"])  # type: ignore[no-any-return]


@reference_router.get("/reference", summary="The reference lists and their versions")
async def reference_index(request: Request, identity: IdentityDep, on: date | None = None) -> dict[str, Any]:
    require_roles(identity, REFERENCE_READERS)
    docs = await _documents(request)
    day = on or date.today()
    lists = []
    for name in FILES:
        versions = sorted(v["effective"] for v in docs[name]["versions"])
        in_force = [e for e in versions if date.fromisoformat(e) <= day]
        lists.append(
            {
                "name": name,
                "source": docs[name]["source"],
                "versions": versions,
                "in_force": in_force[-1] if in_force else None,
            }
        )
    return {"on": day.isoformat(), "lists": lists}


@reference_router.get(
    "/reference/dismissal-reasons",
    summary="The dismissal reasons in force: code, reason and corrective action (the one source of them)",
)
async def dismissal_reasons(request: Request, identity: IdentityDep, on: date | None = None) -> dict[str, Any]:
    require_roles(identity, REFERENCE_READERS)
    docs = await _documents(request)
    day = on or date.today()
    version = _version_in_force(docs["dismissal_reasons"], "dismissal_reasons", day)
    return {
        "on": day.isoformat(),
        "effective": version["effective"],
        "source": docs["dismissal_reasons"]["source"],
        "reasons": [
            {"code": r["code"], "reason": r["reason"], "corrective_action": r["action"]} for r in version["reasons"]
        ],
    }


@reference_router.get("/reference/{name}", summary="What a reference list says on a date")
async def reference_list(request: Request, name: str, identity: IdentityDep, on: date | None = None) -> dict[str, Any]:
    require_roles(identity, REFERENCE_READERS)
    docs = await _documents(request)
    if name not in docs:
        raise Problem(404, "Not found", f"No reference list {name!r}.", code="REFERENCE_NOT_FOUND")
    day = on or date.today()
    version = _version_in_force(docs[name], name, day)
    return {"name": name, "on": day.isoformat(), "source": docs[name]["source"], **version}
