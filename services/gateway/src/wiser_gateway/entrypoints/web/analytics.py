"""The two analytics dashboards (Analytics: status boxes that filter the table, aging; Analytics insights:
trends, turnaround, reviewers, SLA, CMS metrics, gold-card candidates), and their CSV and PDF downloads.
Charts are SVG drawn here (domain/charts.py): our own origin, no script, readable without colour."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from wiser_contracts import roles

from ...domain.charts import bar_chart
from .common import STATES, app_state, current, render, require, upstream_problem

router = APIRouter(include_in_schema=False)
ANALYSTS = frozenset({roles.SUPERVISOR, roles.MANAGER, roles.ADMIN, roles.AUDITOR})
TABLES = (
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
)
FILTERS = ("state_of_service", "review_type", "service_code", "channel")


def _filters(request: Request) -> dict[str, str]:
    q = request.query_params
    f = {k: q.get(k, "").strip() for k in FILTERS}
    state = q.get("state", "")
    f["state"] = state if state in STATES else ""
    return f


def _period(request: Request) -> dict[str, str]:
    q = request.query_params
    out = {}
    for key in ("from", "to"):
        try:
            out[key] = date.fromisoformat(q.get(key, "")).isoformat()
        except ValueError:
            pass
    if "to" not in out:
        out["to"] = date.today().isoformat()
    if "from" not in out:
        out["from"] = (date.fromisoformat(out["to"]) - timedelta(days=29)).isoformat()
    return out


def _params(values: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in values.items() if v}


@router.get("/analytics", response_class=HTMLResponse)
async def analytics_page(request: Request) -> Response:
    session = await current(request)
    require(session, ANALYSTS)
    client = app_state(request).analytics
    f = _filters(request)
    narrowing = _params({k: f[k] for k in FILTERS})
    status = await client.table(session.user, "status", narrowing)
    if not status.ok:
        return upstream_problem(status, request)
    aging = await client.table(session.user, "aging")
    listing = await client.table(session.user, "packets", _params({**narrowing, "state": f["state"], "limit": "100"}))
    for up in (aging, listing):
        if not up.ok:
            return upstream_problem(up, request)
    counts = status.json()["counts"]
    chart = bar_chart(
        "Packets per state now",
        [s.replace("_", " ") for s in counts],
        [("packets", [float(v) for v in counts.values()])],
    )
    return render(
        request,
        "analytics.html",
        session,
        filters=f,
        counts=counts,
        total=status.json()["total"],
        aging=aging.json(),
        packets=listing.json()["items"],
        chart=Markup(chart),  # noqa: S704 - built by charts.py, every text escaped there
        query=_params({**narrowing, "state": f["state"]}),
    )


@router.get("/analytics/insights", response_class=HTMLResponse)
async def insights_page(request: Request) -> Response:
    session = await current(request)
    require(session, ANALYSTS)
    client = app_state(request).analytics
    period = _period(request)
    data: dict[str, Any] = {}
    for name in ("throughput", "trend", "turnaround", "reviewers", "sla", "cms", "gold-card"):
        up = await client.table(session.user, name, period)
        if not up.ok:
            return upstream_problem(up, request)
        data[name] = up.json()
    days = data["throughput"]["days"]
    trend = data["trend"]["days"]
    bins = data["turnaround"]["bins"]
    sla = data["sla"]["rows"]
    charts = {
        "throughput": bar_chart(
            "Received and determined per day",
            [d["day"][5:] for d in days],
            [("received", [d["received"] for d in days]), ("determined", [d["determined"] for d in days])],
        ),
        "trend": bar_chart(
            "Determinations per day: made by due_at and late",
            [d["day"][5:] for d in trend],
            [("met", [d["met"] for d in trend]), ("missed", [d["decided"] - d["met"] for d in trend])],
        ),
        "turnaround": bar_chart(
            "Time to decision (hours from receipt)",
            [b["bin"] for b in bins],
            [("standard", [b["standard"] for b in bins]), ("expedited", [b["expedited"] for b in bins])],
        ),
        "sla": bar_chart(
            "SLA compliance",
            [r["review_type"] for r in sla],
            [("met", [r["met"] for r in sla]), ("missed", [r["missed"] for r in sla])],
        ),
    }
    return render(
        request,
        "analytics_insights.html",
        session,
        period=period,
        data=data,
        charts={k: Markup(v) for k, v in charts.items()},  # noqa: S704 - built by charts.py, text escaped there
    )


@router.get("/analytics/export/{table}.csv")
async def export_csv(request: Request, table: str) -> Response:
    session = await current(request)
    require(session, ANALYSTS)
    if table not in TABLES:
        return render(request, "problem.html", session, status=404, problem={"title": "No such table"})
    q = request.query_params
    params = _params({k: q.get(k, "") for k in (*FILTERS, "state", "from", "to", "limit")})
    up = await app_state(request).analytics.csv(session.user, table, params)
    if not up.ok:
        return upstream_problem(up, request)
    return Response(
        up.body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": up.headers.get("content-disposition", f'attachment; filename="{table}.csv"'),
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/analytics/report.pdf")
async def report_pdf(request: Request) -> Response:
    session = await current(request)
    require(session, ANALYSTS)
    up = await app_state(request).analytics.report(session.user, _period(request))
    if not up.ok:
        return upstream_problem(up, request)
    return Response(
        up.body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": up.headers.get("content-disposition", 'attachment; filename="report.pdf"'),
            "Cache-Control": "private, no-store",
        },
    )
