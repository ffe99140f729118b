"""Clinical's HTTP API behind the gateway (people's identity tokens) and for services (their own tokens):
the queue, cases, assignment, checklist, decisions, reviewer profiles, determinations."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse

from wiser_contracts import messages as m
from wiser_contracts import roles
from wiser_servicekit.identity import Identity, identity_dependency, require_roles
from wiser_servicekit.problems import Problem, problem_response
from wiser_servicekit.telemetry import tag_packet

from ..domain.decision import LineOutcome, Unmet
from ..domain.model import Licence, Reviewer
from ..usecases import assignment, queries, review
from ..usecases import reviewers as profiles
from ..usecases.errors import Forbidden, Invalid, Malformed, NotAllowed, NotFound, Refused, Stale, TooMany
from ..usecases.ports import Clinical
from . import schemas as s

READERS = roles.PEOPLE  # ops roles, manager, auditor, admin read; only reviewers and supervisors act
REVIEWERS = frozenset({roles.CLINICAL_REVIEWER, roles.MEDICAL_DIRECTOR})
REVIEWERS_AND_SUPERVISORS = REVIEWERS | {roles.SUPERVISOR}
MDS = frozenset({roles.MEDICAL_DIRECTOR})
SUPERVISORS = frozenset({roles.SUPERVISOR})
PROFILE_ADMINS = frozenset({roles.SUPERVISOR, roles.ADMIN})
DETERMINATION_READERS = (*roles.PEOPLE, roles.SERVICE)

STATUS: dict[type[Refused], int] = {
    NotFound: 404,
    Invalid: 422,
    Malformed: 400,
    NotAllowed: 409,
    Forbidden: 403,
    Stale: 412,
    TooMany: 413,
}


def install_refusals(app: FastAPI) -> None:
    @app.exception_handler(Refused)
    async def _refused(_: Request, e: Refused) -> JSONResponse:
        status = next((code for kind, code in STATUS.items() if isinstance(e, kind)), 400)
        return problem_response(Problem(status, e.title, e.detail, code=e.code, errors=e.errors))


def ctx_of(request: Request) -> Clinical:
    return request.app.state.clinical  # type: ignore[no-any-return]


def _identity(request: Request) -> Identity:
    return identity_dependency(request.app.state.settings.identity_verifier)(request)


IdentityDep = Annotated[Identity, Depends(_identity)]
router = APIRouter(prefix="/api/v1", tags=["clinical"])
CASE = "/cases/{packet_id}"


# ------------------------------------------------------------------------------------------ reads


@router.get("/queue", summary="Open cases by time left, with reviewer load against capacity")
async def get_queue(
    request: Request,
    identity: IdentityDep,
    status: Literal["queued", "in_review", "md_review"] | None = None,
    state_of_service: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
    service_id: Annotated[str | None, Query(max_length=60)] = None,
    review_type: Literal["standard", "expedited"] | None = None,
    assigned_to: Annotated[str | None, Query(max_length=80)] = None,
    at_risk: bool | None = None,
    unassignable: bool | None = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> s.QueueOut:
    require_roles(identity, READERS)
    out = await queries.queue(
        ctx_of(request),
        status=status,
        state_of_service=state_of_service,
        service_id=service_id,
        review_type=review_type,
        assigned_to=assigned_to,
        at_risk=at_risk,
        unassignable=unassignable,
        offset=offset,
        limit=limit,
    )
    return s.QueueOut.model_validate(out)


@router.get(CASE, summary="A case: packet and documents (from intake), checklist with evidence, notes, decision")
async def get_case(request: Request, packet_id: uuid.UUID, identity: IdentityDep) -> s.CaseDetail:
    require_roles(identity, READERS)
    tag_packet(packet_id)
    return s.CaseDetail.model_validate(await queries.case_detail(ctx_of(request), identity, packet_id))


@router.get(CASE + "/documents/{document_id}", summary="A document of the case (from intake)", response_class=Response)
async def get_document(
    request: Request, packet_id: uuid.UUID, document_id: uuid.UUID, identity: IdentityDep
) -> Response:
    require_roles(identity, READERS)
    tag_packet(packet_id)
    content_type, filename, body = await queries.document(ctx_of(request), identity, packet_id, document_id)
    return Response(
        body,
        media_type=content_type,
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


@router.get(
    "/determinations/{packet_id}",
    summary="The determination on the merits (404 until there is one; dismissals never appear)",
)
async def get_determination(request: Request, packet_id: uuid.UUID, identity: IdentityDep) -> s.DeterminationOut:
    require_roles(identity, DETERMINATION_READERS)
    tag_packet(packet_id)
    return s.DeterminationOut.model_validate(await queries.determination(ctx_of(request), packet_id))


# -------------------------------------------------------------------------------- taking and giving


@router.post("/cases/next", summary="Take the next case you may hold (expedited first, then earliest due)")
async def take_next(request: Request, identity: IdentityDep) -> s.CaseRow:
    require_roles(identity, REVIEWERS)
    case = await assignment.take_next(ctx_of(request), identity)
    if case is None:
        raise Problem(404, "Queue empty", "No waiting case you may hold.", code="QUEUE_EMPTY")
    return await _row(request, case.packet_id)


async def _row(request: Request, packet_id: uuid.UUID) -> s.CaseRow:
    ctx = ctx_of(request)
    async with ctx.uow() as uow:
        case = await uow.case(packet_id)
        held = await uow.active_assignment(packet_id)
    assert case is not None
    return s.CaseRow.model_validate(queries.case_row(ctx, case, held, ctx.now()))


@router.post(CASE + "/take", summary="Take this waiting case (of two reviewers at once, one wins; the other 409)")
async def take(request: Request, packet_id: uuid.UUID, identity: IdentityDep) -> s.CaseRow:
    require_roles(identity, REVIEWERS)
    tag_packet(packet_id)
    await assignment.take(ctx_of(request), identity, packet_id)
    return await _row(request, packet_id)


@router.post(CASE + "/release", summary="Put the case back in the queue (T8)")
async def release(request: Request, packet_id: uuid.UUID, body: s.ReasonIn, identity: IdentityDep) -> s.CaseRow:
    require_roles(identity, REVIEWERS_AND_SUPERVISORS)
    tag_packet(packet_id)
    await assignment.release(ctx_of(request), identity, packet_id, body.reason)
    return await _row(request, packet_id)


@router.post(CASE + "/assign", summary="Supervisor: assign a waiting case or reassign a held one")
async def assign(request: Request, packet_id: uuid.UUID, body: s.AssignIn, identity: IdentityDep) -> s.CaseRow:
    require_roles(identity, SUPERVISORS)
    tag_packet(packet_id)
    await assignment.assign_to(ctx_of(request), identity, packet_id, body.reviewer_id, body.reason)
    return await _row(request, packet_id)


# ------------------------------------------------------------------------------------ the review


@router.put(CASE + "/checklist", summary="Answer checklist items (met / not met / not documented, evidence, note)")
async def answer(request: Request, packet_id: uuid.UUID, body: s.ChecklistIn, identity: IdentityDep) -> s.CaseDetail:
    require_roles(identity, REVIEWERS)
    tag_packet(packet_id)
    items = [a.model_dump(mode="json") for a in body.answers]
    await review.answer(ctx_of(request), identity, packet_id, items)
    return s.CaseDetail.model_validate(await queries.case_detail(ctx_of(request), identity, packet_id))


@router.post(CASE + "/urgency", summary="Confirm an expedited request's urgency, or refuse it (reclassified)")
async def urgency(request: Request, packet_id: uuid.UUID, body: s.UrgencyIn, identity: IdentityDep) -> s.CaseRow:
    require_roles(identity, REVIEWERS_AND_SUPERVISORS)
    tag_packet(packet_id)
    await review.urgency(ctx_of(request), identity, packet_id, body.confirmed, body.reason)
    return await _row(request, packet_id)


@router.post(CASE + "/notes", summary="Add a note to the case", status_code=204, response_class=Response)
async def note(request: Request, packet_id: uuid.UUID, body: s.NoteIn, identity: IdentityDep) -> Response:
    require_roles(identity, REVIEWERS_AND_SUPERVISORS)
    tag_packet(packet_id)
    await review.add_note(ctx_of(request), identity, packet_id, body.note)
    return Response(status_code=204)


def _decision_out(packet_id: uuid.UUID, decided: Any) -> s.DecisionOut:
    return s.DecisionOut(
        packet_id=packet_id,
        outcome=decided.outcome.value,
        lines=[
            {
                "code": d.code,
                "outcome": d.outcome.value,
                "unmet": [{"criterion_id": u.criterion_id, "reason": u.reason} for u in d.unmet],
            }
            for d in decided.lines
        ],
    )


@router.post(CASE + "/affirm", summary="Affirm every line (T9): every required criterion answered met")
async def affirm(request: Request, packet_id: uuid.UUID, body: s.AffirmIn, identity: IdentityDep) -> s.DecisionOut:
    require_roles(identity, REVIEWERS)
    tag_packet(packet_id)
    decided = await review.affirm(ctx_of(request), identity, packet_id, body.rationale)
    return _decision_out(packet_id, decided)


@router.post(CASE + "/escalate", summary="Escalate to a medical director with a recommendation (T10)")
async def escalate(request: Request, packet_id: uuid.UUID, body: s.EscalateIn, identity: IdentityDep) -> s.CaseRow:
    require_roles(identity, REVIEWERS)
    tag_packet(packet_id)
    await review.escalate(
        ctx_of(request), identity, packet_id, m.Outcome(body.recommendation), body.rationale, body.lines
    )
    return await _row(request, packet_id)


@router.post(
    CASE + "/decision",
    summary="Medical director: decide each line (T11); non-affirmed lines give a reason per unmet criterion",
    responses={403: {"description": "Not a medical director"}, 422: {"description": "A reason is missing"}},
)
async def decide(request: Request, packet_id: uuid.UUID, body: s.DecisionIn, identity: IdentityDep) -> s.DecisionOut:
    require_roles(identity, MDS)
    tag_packet(packet_id)
    lines = [
        LineOutcome(
            line.code.upper(), m.Outcome(line.outcome), tuple(Unmet(u.criterion_id, u.reason) for u in line.unmet)
        )
        for line in body.lines
    ]
    decided = await review.decide(ctx_of(request), identity, packet_id, lines, body.rationale)
    return _decision_out(packet_id, decided)


@router.post(CASE + "/return", summary="Medical director: return the case to the nurse with a note (T12)")
async def return_case(request: Request, packet_id: uuid.UUID, body: s.NoteIn, identity: IdentityDep) -> s.CaseRow:
    require_roles(identity, MDS)
    tag_packet(packet_id)
    await review.return_to_nurse(ctx_of(request), identity, packet_id, body.note)
    return await _row(request, packet_id)


# ------------------------------------------------------------------------------- reviewer profiles


@router.get("/reviewers", summary="Reviewer profiles with their load")
async def list_reviewers(request: Request, identity: IdentityDep) -> list[s.ReviewerOut]:
    require_roles(identity, READERS)
    ctx = ctx_of(request)
    async with ctx.uow() as uow:
        found = await uow.reviewers()
        loads = await uow.loads()
    return [s.ReviewerOut(**r.as_dict(), load=loads.get(r.user_id, 0)) for r in found]


@router.get("/reviewers/{user_id}", summary="One reviewer profile")
async def get_reviewer(request: Request, user_id: str, identity: IdentityDep) -> s.ReviewerOut:
    require_roles(identity, READERS)
    ctx = ctx_of(request)
    async with ctx.uow() as uow:
        found = await uow.reviewer(user_id)
        loads = await uow.loads()
    if found is None:
        raise Problem(404, "Not found", "No reviewer profile for this user.", code="REVIEWER_NOT_FOUND")
    return s.ReviewerOut(**found.as_dict(), load=loads.get(user_id, 0))


@router.put("/reviewers/{user_id}", summary="Create or replace a reviewer profile (supervisor, admin)")
async def put_reviewer(request: Request, user_id: str, body: s.ReviewerIn, identity: IdentityDep) -> s.ReviewerOut:
    require_roles(identity, PROFILE_ADMINS)
    reviewer = Reviewer(
        user_id=user_id,
        role=body.role,
        capacity=body.capacity,
        licences=tuple(Licence(lic.state.upper(), date.fromisoformat(lic.expires)) for lic in body.licences),
        services=frozenset(body.services),
        specialties=frozenset(body.specialties),
        active=body.active,
        display_name=body.display_name,
        auto_assign=body.auto_assign,
    )
    await profiles.put_profile(ctx_of(request), reviewer)
    return s.ReviewerOut(**reviewer.as_dict())
