"""Read the metrics (a query side: straight to SQL over the read model): one entry per table the API, the CSV
export and the PDF report show."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import queries as q


@dataclass(frozen=True)
class Query:
    start: date
    end: date
    now: datetime
    at_risk: timedelta
    filters: q.Filters
    state: str | None = None
    limit: int = 100
    min_requests: int = 10
    threshold: float = 90.0


TABLES: dict[str, Callable[[AsyncSession, Query], Awaitable[Any]]] = {
    "status": lambda s, p: q.status_distribution(s, p.filters),
    "packets": lambda s, p: q.packets(s, p.state, p.filters, p.now, p.at_risk, p.limit),
    "aging": lambda s, p: q.aging(s, p.now, p.at_risk),
    "sla": lambda s, p: q.sla_compliance(s, p.start, p.end),
    "cms": lambda s, p: q.cms_metrics(s, p.start, p.end),
    "throughput": lambda s, p: q.throughput(s, p.start, p.end),
    "trend": lambda s, p: q.decision_trend(s, p.start, p.end),
    "turnaround": lambda s, p: q.turnaround_distribution(s, p.start, p.end),
    "reviewers": lambda s, p: q.reviewer_productivity(s, p.start, p.end),
    "outcomes": lambda s, p: q.outcomes_by_service(s, p.start, p.end),
    "dismissals": lambda s, p: q.dismissal_reasons(s, p.start, p.end),
    "channels": lambda s, p: q.channel_mix(s, p.start, p.end),
    "gold-card": lambda s, p: q.gold_card(s, p.start, p.end, p.min_requests, p.threshold),
}


# A year's medians sort up to every decision of the year: in memory rather than spilled to disk.
WORK_MEM = text("SET LOCAL work_mem = '32MB'")


async def read(sessions: async_sessionmaker[AsyncSession], name: str, params: Query) -> Any:
    async with sessions() as session, session.begin():
        await session.execute(WORK_MEM)
        return await TABLES[name](session, params)


async def read_many(sessions: async_sessionmaker[AsyncSession], names: list[str], params: Query) -> dict[str, Any]:
    async with sessions() as session, session.begin():
        await session.execute(WORK_MEM)
        return {name: await TABLES[name](session, params) for name in names}


def as_rows(name: str, value: Any) -> list[dict[str, Any]]:
    """Any table as flat rows (CSV, the PDF's tables)."""
    if name == "status":
        return [{"state": s, "packets": n} for s, n in value.items()]
    if name == "cms":
        rows: list[dict[str, Any]] = [{"metric": "determinations", "value": value["determinations"]}]
        rows += [{"metric": f"count {o}", "value": n} for o, n in value["counts"].items()]
        rows += [{"metric": f"percent of all {o}", "value": v} for o, v in value["percent_of_all"].items()]
        rows.append({"metric": "merits decisions", "value": value["merits_decisions"]})
        rows += [{"metric": f"percent of merits {o}", "value": v} for o, v in value["percent_of_merits"].items()]
        for rtype, t in value["time_to_decision"].items():
            rows += [{"metric": f"{rtype} {k.replace('_', ' ')}", "value": v} for k, v in t.items()]
        rows.append({"metric": "resubmissions decided", "value": value["resubmissions_decided"]})
        rows.append({"metric": "resubmissions affirmed", "value": value["resubmissions_affirmed"]})
        rows.append(
            {"metric": "percent affirmed after resubmission", "value": value["percent_affirmed_after_resubmission"]}
        )
        return rows
    return [{k: (";".join(v) if isinstance(v, list) else v) for k, v in row.items()} for row in value]
