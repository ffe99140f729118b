"""Analytics' HTTP API: the metrics (typed JSON), a CSV of every table, a PDF report for a period, and the
ops rebuild. Definitions of every figure: domain/metrics.py, repeated in each route's description."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from wiser_contracts import roles
from wiser_servicekit.identity import Identity, identity_dependency, require_roles
from wiser_servicekit.problems import Problem

from ..adapters import reading
from ..adapters.queries import Filters
from ..usecases.rebuild import rebuild
from . import schemas as s

READERS = frozenset({roles.SUPERVISOR, roles.MANAGER, roles.ADMIN, roles.AUDITOR})
REBUILDERS = frozenset({roles.ADMIN})
MAX_DAYS = 400
STATES = Literal[
    "received",
    "validating",
    "manual_review",
    "clinical_queue",
    "clinical_review",
    "md_review",
    "determined",
    "letter_review",
    "delivering",
    "delivery_failed",
    "closed",
]


def _identity(request: Request) -> Identity:
    return identity_dependency(request.app.state.settings.identity_verifier)(request)


IdentityDep = Annotated[Identity, Depends(_identity)]
router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])
ops_router = APIRouter(prefix="/api/v1/ops/analytics", tags=["ops"])

PERIOD = (
    " The period is `from`–`to`, inclusive calendar days in each packet's state-of-service time zone "
    "(default: the last 30 days to today); a determination belongs to the day it was recorded, a request "
    "to the day it was received."
)


def _reader(identity: Identity) -> None:
    require_roles(identity, READERS)


def _params(
    request: Request,
    start: date | None,
    end: date | None,
    filters: Filters | None = None,
    state: str | None = None,
    limit: int = 100,
    min_requests: int | None = None,
    threshold: float | None = None,
) -> reading.Query:
    settings = request.app.state.settings
    now = datetime.now(UTC)
    end = end or now.date()
    start = start or end - timedelta(days=29)
    if start > end:
        raise Problem(400, "Bad period", "`from` is after `to`.", code="BAD_PERIOD")
    if (end - start).days >= MAX_DAYS:
        raise Problem(400, "Bad period", f"A period is at most {MAX_DAYS} days.", code="BAD_PERIOD")
    return reading.Query(
        start=start,
        end=end,
        now=now,
        at_risk=timedelta(hours=settings.at_risk_hours),
        filters=filters or Filters(),
        state=state,
        limit=limit,
        min_requests=settings.gold_card_min_requests if min_requests is None else min_requests,
        threshold=settings.gold_card_threshold_percent if threshold is None else threshold,
    )


From = Annotated[date | None, Query(alias="from", description="First day (inclusive).")]
To = Annotated[date | None, Query(alias="to", description="Last day (inclusive).")]


def _filters(
    state_of_service: Annotated[str | None, Query(pattern="^[A-Z]{2}$")] = None,
    service_code: Annotated[str | None, Query(pattern="^[A-Z0-9]{5}$")] = None,
    review_type: Literal["standard", "expedited"] | None = None,
    channel: Annotated[str | None, Query(max_length=20)] = None,
) -> Filters:
    return Filters(state_of_service, service_code, review_type, channel)


FiltersDep = Annotated[Filters, Depends(_filters)]


async def _read(request: Request, name: str, params: reading.Query) -> Any:
    return await reading.read(request.app.state.sessions, name, params)


def _period(p: reading.Query) -> dict[str, str]:
    return {"start": p.start.isoformat(), "end": p.end.isoformat()}


@router.get("/status", response_model=s.StatusOut, summary="Packets per state now (filterable)")
async def status(request: Request, identity: IdentityDep, filters: FiltersDep) -> dict[str, Any]:
    """Every packet analytics knows, counted by its current state; filters narrow by state of service,
    service code (any line), review type and channel."""
    _reader(identity)
    counts = await _read(request, "status", _params(request, None, None, filters))
    return {"counts": counts, "total": sum(counts.values())}


@router.get("/packets", response_model=s.PacketsOut, summary="The packets behind a status box (newest first)")
async def packet_list(
    request: Request,
    identity: IdentityDep,
    filters: FiltersDep,
    state: STATES | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Ids and codes only. Age is the time since received; `clock` is `at_risk` (not determined, due within
    the at-risk window) or `breached` (not determined, due_at passed)."""
    _reader(identity)
    return {"items": await _read(request, "packets", _params(request, None, None, filters, state, limit))}


@router.get(
    "/aging", response_model=s.AgingOut, summary="Aging per state: < 1 d, 1–2 d, 2–3 d, ≥ 3 d; at risk; breached"
)
async def aging(request: Request, identity: IdentityDep) -> dict[str, Any]:
    """For every state but closed: packets by age since received (< 1 day, 1–2, 2–3, 3 days or more); at
    risk = not yet determined and due_at at most the at-risk window away; breached = not yet determined and
    due_at passed."""
    _reader(identity)
    p = _params(request, None, None)
    return {
        "at": p.now.isoformat(),
        "at_risk_hours": p.at_risk.total_seconds() / 3600,
        "states": await _read(request, "aging", p),
    }


@router.get("/sla", response_model=s.SlaOut, summary="SLA compliance: determinations made by due_at")
async def sla(request: Request, identity: IdentityDep, start: From = None, end: To = None) -> dict[str, Any]:
    """ "Met" means determined by `due_at` (standard 3 calendar days, expedited 2, from receipt; a
    reclassified request counts as standard with its new due_at)."""
    _reader(identity)
    p = _params(request, start, end)
    return {**_period(p), "rows": await _read(request, "sla", p)}


@router.get("/cms", response_model=s.CmsOut, summary="CMS-0057-F style metrics for a period")
async def cms(request: Request, identity: IdentityDep, start: From = None, end: To = None) -> dict[str, Any]:
    """Percent affirmed, non-affirmed, partially affirmed and dismissed of all determinations; the first
    three also of merits decisions (dismissals left out). Time to decision runs from `received_at` to the
    decision (when the packet was determined), in hours, average and median, standard and expedited (the
    review type at decision; dismissals are decisions too); the median of an even count is the mean of the
    two middle values. Percent affirmed after resubmission: affirmed ÷ merits decisions on resubmissions."""
    _reader(identity)
    p = _params(request, start, end)
    return {**_period(p), **await _read(request, "cms", p)}


@router.get("/throughput", response_model=s.ThroughputOut, summary="Received, determined and closed per day")
async def throughput(request: Request, identity: IdentityDep, start: From = None, end: To = None) -> dict[str, Any]:
    """Per calendar day in the state of service's time zone: packets received, determined and closed."""
    _reader(identity)
    p = _params(request, start, end)
    return {**_period(p), "days": await _read(request, "throughput", p)}


@router.get("/trend", response_model=s.TrendOut, summary="Decisions per day by outcome, met and average hours")
async def trend(request: Request, identity: IdentityDep, start: From = None, end: To = None) -> dict[str, Any]:
    _reader(identity)
    p = _params(request, start, end)
    return {**_period(p), "days": await _read(request, "trend", p)}


@router.get("/turnaround", response_model=s.TurnaroundOut, summary="Time to decision, distribution")
async def turnaround(request: Request, identity: IdentityDep, start: From = None, end: To = None) -> dict[str, Any]:
    """Determinations in the period by hours from received_at to decision, standard and expedited."""
    _reader(identity)
    p = _params(request, start, end)
    return {**_period(p), "bins": await _read(request, "turnaround", p)}


@router.get("/reviewers", response_model=s.ReviewersOut, summary="Reviewer productivity")
async def reviewers(request: Request, identity: IdentityDep, start: From = None, end: To = None) -> dict[str, Any]:
    """Determinations each clinician recorded in the period (T9 nurse, T11 medical director), by outcome,
    met share and average and median hours from receipt."""
    _reader(identity)
    p = _params(request, start, end)
    return {**_period(p), "reviewers": await _read(request, "reviewers", p)}


@router.get("/outcomes", response_model=s.OutcomesOut, summary="Outcome rates per service code and state")
async def outcomes(request: Request, identity: IdentityDep, start: From = None, end: To = None) -> dict[str, Any]:
    """Service lines decided in the period by code and state of service: the outcome of each line (a
    dismissal counts every code of the packet as dismissed)."""
    _reader(identity)
    p = _params(request, start, end)
    return {**_period(p), "rows": await _read(request, "outcomes", p)}


@router.get("/dismissals", response_model=s.DismissalsOut, summary="Dismissal reasons")
async def dismissals(request: Request, identity: IdentityDep, start: From = None, end: To = None) -> dict[str, Any]:
    """Dismissals in the period per reason code (DOMAIN.md); one dismissal may cite several codes."""
    _reader(identity)
    p = _params(request, start, end)
    return {**_period(p), "rows": await _read(request, "dismissals", p)}


@router.get("/channels", response_model=s.ChannelsOut, summary="Channel mix")
async def channels(request: Request, identity: IdentityDep, start: From = None, end: To = None) -> dict[str, Any]:
    """Requests received in the period per channel."""
    _reader(identity)
    p = _params(request, start, end)
    return {**_period(p), "rows": await _read(request, "channels", p)}


@router.get("/gold-card", response_model=s.GoldCardOut, summary="Gold-card candidates")
async def gold_card(
    request: Request,
    identity: IdentityDep,
    start: From = None,
    end: To = None,
    min_requests: Annotated[int | None, Query(ge=1, le=100000)] = None,
    threshold: Annotated[float | None, Query(ge=0, le=100)] = None,
) -> dict[str, Any]:
    """Practitioners (NPI) with at least `min_requests` requests received in the period (default 10) and an
    affirmation rate — affirmed ÷ decisions on the merits of those requests — above `threshold` percent
    (default: the configured threshold) (DOMAIN.md, Guide §5)."""
    _reader(identity)
    p = _params(request, start, end, min_requests=min_requests, threshold=threshold)
    return {
        **_period(p),
        "min_requests": p.min_requests,
        "threshold_percent": p.threshold,
        "candidates": await _read(request, "gold-card", p),
    }


# FastAPI reads a route's docstring when the route is declared: the shared definition of a period goes
# into the descriptions of every route that takes one here.
for _route in router.routes:
    if getattr(_route, "path", "").endswith(
        (
            "/sla",
            "/cms",
            "/throughput",
            "/trend",
            "/turnaround",
            "/reviewers",
            "/outcomes",
            "/dismissals",
            "/channels",
            "/gold-card",
        )
    ):
        _route.description = (_route.description or "") + PERIOD  # type: ignore[attr-defined]

CSV_TABLES = Literal[
    "status",
    "packets",
    "aging",
    "sla",
    "cms",
    "throughput",
    "trend",
    "turnaround",
    "reviewers",
    "outcomes",
    "dismissals",
    "channels",
    "gold-card",
]


@router.get("/export/{table}.csv", summary="Any table as CSV", response_class=Response)
async def export_csv(
    request: Request,
    table: CSV_TABLES,
    identity: IdentityDep,
    filters: FiltersDep,
    start: From = None,
    end: To = None,
    state: STATES | None = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> Response:
    """The same rows the JSON route gives, with the same parameters and definitions."""
    _reader(identity)
    p = _params(request, start, end, filters, state, limit)
    rows = reading.as_rows(table, await _read(request, table, p))
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    name = f"wiser-{table}-{p.start}-{p.end}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"},
    )


@router.get("/report.pdf", summary="The PDF report for a period, with its charts", response_class=Response)
async def report_pdf(request: Request, identity: IdentityDep, start: From = None, end: To = None) -> Response:
    """Status, aging, SLA compliance, the CMS metrics, throughput, turnaround, reviewers, outcomes per
    service, dismissal reasons, channels and gold-card candidates for the period, as in the JSON routes."""
    from ..adapters.report import render_report

    _reader(identity)
    p = _params(request, start, end)
    data = await reading.read_many(request.app.state.sessions, [n for n in reading.TABLES if n != "packets"], p)
    pdf = render_report(data, p.start, p.end, p.now)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="wiser-analytics-{p.start}-{p.end}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


@ops_router.post("/rebuild", response_model=s.RebuildOut, summary="Rebuild the read models from intake's history")
async def rebuild_route(request: Request, identity: IdentityDep) -> dict[str, Any]:
    """Replays intake's history export into fresh read models (admins only); live projection waits meanwhile."""
    require_roles(identity, REBUILDERS)
    return await rebuild(
        request.app.state.read_model,
        request.app.state.history,
        request.app.state.settings.history_page_size,
        identity.user_id,
    )
