"""The metrics in SQL over the read model (definitions: domain/metrics.py; the same arithmetic for
percentages, hours and gold-card rules). Each answers in one statement over indexed columns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ..domain import metrics as dm
from ..domain.facts import MERITS, OPEN_STATES, OUTCOMES, STATES

NOT_CLOSED = [s for s in STATES if s != "closed"]
STATUS_SQL = "SELECT state, count(*) AS n FROM facts WHERE state IS NOT NULL{where} GROUP BY state"
PACKETS_SQL = """SELECT packet_id, state, state_entered_at, review_type, state_of_service, channel, service_codes,
       received_at, due_at, outcome, reviewer, assigned_reviewer, met
FROM facts WHERE received_at IS NOT NULL{where} ORDER BY received_at DESC, packet_id LIMIT :limit"""


@dataclass(frozen=True)
class Filters:
    state_of_service: str | None = None
    service_code: str | None = None
    review_type: str | None = None
    channel: str | None = None

    def sql(self) -> tuple[str, dict[str, Any]]:
        parts, params = [], {}
        if self.state_of_service:
            parts.append("state_of_service = :f_sos")
            params["f_sos"] = self.state_of_service
        if self.service_code:
            parts.append(":f_code = ANY(service_codes)")
            params["f_code"] = self.service_code
        if self.review_type:
            parts.append("review_type = :f_rtype")
            params["f_rtype"] = self.review_type
        if self.channel:
            parts.append("channel = :f_channel")
            params["f_channel"] = self.channel
        return "".join(f" AND {p}" for p in parts), params


async def _all(session: AsyncSession, sql: str, **params: Any) -> list[Any]:
    return list((await session.execute(text(sql), params)).all())


async def status_distribution(session: AsyncSession, filters: Filters) -> dict[str, int]:
    where, params = filters.sql()
    rows = await _all(
        session,
        STATUS_SQL.replace("{where}", where),
        **params,
    )
    counts = {r.state: r.n for r in rows}
    return {s: counts.get(s, 0) for s in STATES}


async def aging(session: AsyncSession, now: datetime, window: timedelta) -> list[dict[str, Any]]:
    rows = await _all(
        session,
        """
        SELECT state,
          count(*) FILTER (WHERE :now - received_at < interval '1 day') AS lt_1d,
          count(*) FILTER (WHERE :now - received_at >= interval '1 day'
                             AND :now - received_at < interval '2 days') AS d1_2,
          count(*) FILTER (WHERE :now - received_at >= interval '2 days'
                             AND :now - received_at < interval '3 days') AS d2_3,
          count(*) FILTER (WHERE :now - received_at >= interval '3 days') AS gt_3d,
          count(*) FILTER (WHERE state = ANY(:open) AND due_at >= :now AND due_at - :now <= :window) AS at_risk,
          count(*) FILTER (WHERE state = ANY(:open) AND due_at < :now) AS breached,
          count(*) AS total
        FROM facts WHERE state = ANY(:states) AND received_at IS NOT NULL GROUP BY state
        """,
        now=now,
        window=window,
        open=list(OPEN_STATES),
        states=NOT_CLOSED,
    )
    found = {r.state: r for r in rows}
    keys = (*dm.AGING_BUCKETS, "at_risk", "breached", "total")
    return [{"state": s, **{k: (getattr(found[s], k) if s in found else 0) for k in keys}} for s in NOT_CLOSED]


async def packets(
    session: AsyncSession, state: str | None, filters: Filters, now: datetime, window: timedelta, limit: int
) -> list[dict[str, Any]]:
    where, params = filters.sql()
    if state:
        where += " AND state = :state"
        params["state"] = state
    rows = await _all(
        session,
        PACKETS_SQL.replace("{where}", where),
        limit=limit,
        **params,
    )
    return [
        {
            "packet_id": str(r.packet_id),
            "state": r.state,
            "review_type": r.review_type,
            "state_of_service": r.state_of_service,
            "channel": r.channel,
            "service_codes": list(r.service_codes or []),
            "received_at": r.received_at.isoformat(),
            "due_at": r.due_at.isoformat() if r.due_at else None,
            "age_hours": round((now - r.received_at).total_seconds() / 3600, 1),
            "aging_bucket": dm.aging_bucket(now - r.received_at),
            "clock": dm.clock_status(r.state, r.due_at, now, window),
            "outcome": r.outcome,
            "reviewer": r.reviewer or r.assigned_reviewer,
            "met": r.met,
        }
        for r in rows
    ]


async def sla_compliance(session: AsyncSession, start: date, end: date) -> list[dict[str, Any]]:
    rows = await _all(
        session,
        """SELECT review_type, count(*) AS n, count(*) FILTER (WHERE met) AS met
           FROM facts WHERE decided_day BETWEEN :start AND :end AND outcome IS NOT NULL GROUP BY review_type""",
        start=start,
        end=end,
    )
    by = {r.review_type: (r.n, r.met) for r in rows}
    out = []
    for rtype in (*dm.REVIEW_TYPES, "all"):
        n, met = (
            (sum(v[0] for v in by.values()), sum(v[1] for v in by.values()))
            if rtype == "all"
            else by.get(rtype, (0, 0))
        )
        out.append(
            {"review_type": rtype, "decided": n, "met": met, "missed": n - met, "percent_met": dm.percent(met, n)}
        )
    return out


async def cms_metrics(session: AsyncSession, start: date, end: date) -> dict[str, Any]:
    r = (
        await _all(
            session,
            """
            SELECT count(*) AS total,
              count(*) FILTER (WHERE outcome = 'affirmed') AS affirmed,
              count(*) FILTER (WHERE outcome = 'non_affirmed') AS non_affirmed,
              count(*) FILTER (WHERE outcome = 'partially_affirmed') AS partially_affirmed,
              count(*) FILTER (WHERE outcome = 'dismissed') AS dismissed,
              count(*) FILTER (WHERE review_type = 'standard' AND turnaround_seconds IS NOT NULL) AS std_n,
              avg(turnaround_seconds) FILTER (WHERE review_type = 'standard') AS std_avg,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY turnaround_seconds)
                FILTER (WHERE review_type = 'standard') AS std_median,
              count(*) FILTER (WHERE review_type = 'expedited' AND turnaround_seconds IS NOT NULL) AS exp_n,
              avg(turnaround_seconds) FILTER (WHERE review_type = 'expedited') AS exp_avg,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY turnaround_seconds)
                FILTER (WHERE review_type = 'expedited') AS exp_median,
              count(*) FILTER (WHERE resubmission AND outcome <> 'dismissed') AS resub,
              count(*) FILTER (WHERE resubmission AND outcome = 'affirmed') AS resub_affirmed
            FROM facts WHERE decided_day BETWEEN :start AND :end AND outcome IS NOT NULL
            """,
            start=start,
            end=end,
        )
    )[0]
    counts = {o: getattr(r, o) for o in OUTCOMES}
    merits = sum(counts[o] for o in MERITS)
    return {
        "determinations": r.total,
        "counts": counts,
        "percent_of_all": {o: dm.percent(counts[o], r.total) for o in OUTCOMES},
        "merits_decisions": merits,
        "percent_of_merits": {o: dm.percent(counts[o], merits) for o in MERITS},
        "time_to_decision": {
            "standard": {
                "decided": r.std_n,
                "average_hours": dm.hours(r.std_avg),
                "median_hours": dm.hours(r.std_median),
            },
            "expedited": {
                "decided": r.exp_n,
                "average_hours": dm.hours(r.exp_avg),
                "median_hours": dm.hours(r.exp_median),
            },
        },
        "resubmissions_decided": r.resub,
        "resubmissions_affirmed": r.resub_affirmed,
        "percent_affirmed_after_resubmission": dm.percent(r.resub_affirmed, r.resub),
    }


async def throughput(session: AsyncSession, start: date, end: date) -> list[dict[str, Any]]:
    rows = await _all(
        session,
        """SELECT day, kind, sum(count)::bigint AS n FROM daily WHERE day BETWEEN :start AND :end GROUP BY day, kind""",
        start=start,
        end=end,
    )
    days: dict[date, dict[str, int]] = {}
    d = start
    while d <= end:
        days[d] = {"received": 0, "determined": 0, "closed": 0}
        d += dm.DAY
    for r in rows:
        days[r.day][r.kind] = r.n
    return [{"day": d.isoformat(), **v} for d, v in days.items()]


async def reviewer_productivity(session: AsyncSession, start: date, end: date) -> list[dict[str, Any]]:
    rows = await _all(
        session,
        """SELECT reviewer, count(*) AS n,
             count(*) FILTER (WHERE outcome = 'affirmed') AS affirmed,
             count(*) FILTER (WHERE outcome = 'non_affirmed') AS non_affirmed,
             count(*) FILTER (WHERE outcome = 'partially_affirmed') AS partially_affirmed,
             count(*) FILTER (WHERE met) AS met,
             avg(turnaround_seconds) AS avg_s,
             percentile_cont(0.5) WITHIN GROUP (ORDER BY turnaround_seconds) AS median_s
           FROM facts WHERE decided_day BETWEEN :start AND :end AND outcome IS NOT NULL AND reviewer IS NOT NULL
           GROUP BY reviewer ORDER BY reviewer""",
        start=start,
        end=end,
    )
    return [
        {
            "reviewer": r.reviewer,
            "decided": r.n,
            **{o: getattr(r, o) for o in MERITS},
            "met": r.met,
            "percent_met": dm.percent(r.met, r.n),
            "average_hours": dm.hours(r.avg_s),
            "median_hours": dm.hours(r.median_s),
        }
        for r in rows
    ]


async def outcomes_by_service(session: AsyncSession, start: date, end: date) -> list[dict[str, Any]]:
    rows = await _all(
        session,
        """SELECT code, coalesce(state_of_service, '') AS sos, count(*) AS n,
             count(*) FILTER (WHERE outcome = 'affirmed') AS affirmed,
             count(*) FILTER (WHERE outcome = 'non_affirmed') AS non_affirmed,
             count(*) FILTER (WHERE outcome = 'partially_affirmed') AS partially_affirmed,
             count(*) FILTER (WHERE outcome = 'dismissed') AS dismissed
           FROM fact_lines WHERE decided_day BETWEEN :start AND :end GROUP BY code, sos ORDER BY code, sos""",
        start=start,
        end=end,
    )
    return [
        {
            "service_code": r.code,
            "state_of_service": r.sos,
            "lines": r.n,
            **{o: getattr(r, o) for o in OUTCOMES},
            "percent_affirmed": dm.percent(r.affirmed, r.n),
        }
        for r in rows
    ]


async def dismissal_reasons(session: AsyncSession, start: date, end: date) -> list[dict[str, Any]]:
    rows = await _all(
        session,
        """WITH d AS (SELECT dismissal_codes FROM facts
                      WHERE decided_day BETWEEN :start AND :end AND outcome = 'dismissed')
           SELECT code, count(*) AS n, (SELECT count(*) FROM d) AS total
           FROM d, unnest(d.dismissal_codes) AS code GROUP BY code ORDER BY n DESC, code""",
        start=start,
        end=end,
    )
    return [{"code": r.code, "count": r.n, "percent_of_dismissals": dm.percent(r.n, r.total)} for r in rows]


async def channel_mix(session: AsyncSession, start: date, end: date) -> list[dict[str, Any]]:
    rows = await _all(
        session,
        """SELECT channel, sum(count)::bigint AS n FROM daily
           WHERE kind = 'received' AND day BETWEEN :start AND :end GROUP BY channel""",
        start=start,
        end=end,
    )
    total = sum(r.n for r in rows)
    ordered = sorted(rows, key=lambda r: (-r.n, r.channel))
    return [{"channel": r.channel, "received": r.n, "percent": dm.percent(r.n, total)} for r in ordered if r.n]


async def gold_card(
    session: AsyncSession, start: date, end: date, min_requests: int, threshold: float
) -> list[dict[str, Any]]:
    rows = await _all(
        session,
        """SELECT practitioner_npi AS npi, count(*) AS n,
             count(*) FILTER (WHERE outcome IN ('affirmed', 'non_affirmed', 'partially_affirmed')) AS merits,
             count(*) FILTER (WHERE outcome = 'affirmed') AS affirmed
           FROM facts WHERE received_day BETWEEN :start AND :end AND practitioner_npi IS NOT NULL
           GROUP BY practitioner_npi HAVING count(*) >= :min ORDER BY practitioner_npi""",
        start=start,
        end=end,
        min=min_requests,
    )
    return [
        {
            "practitioner_npi": r.npi,
            "requests": r.n,
            "merits_decisions": r.merits,
            "affirmed": r.affirmed,
            "affirmation_rate": dm.percent(r.affirmed, r.merits),
        }
        for r in rows
        if dm.is_gold_card_candidate(r.n, r.affirmed, r.merits, min_requests, threshold)
    ]


TURNAROUND_BINS = ((0, 12), (12, 24), (24, 48), (48, 72), (72, None))


async def turnaround_distribution(session: AsyncSession, start: date, end: date) -> list[dict[str, Any]]:
    rows = await _all(
        session,
        """SELECT review_type,
             count(*) FILTER (WHERE turnaround_seconds < 43200) AS b0,
             count(*) FILTER (WHERE turnaround_seconds >= 43200 AND turnaround_seconds < 86400) AS b1,
             count(*) FILTER (WHERE turnaround_seconds >= 86400 AND turnaround_seconds < 172800) AS b2,
             count(*) FILTER (WHERE turnaround_seconds >= 172800 AND turnaround_seconds < 259200) AS b3,
             count(*) FILTER (WHERE turnaround_seconds >= 259200) AS b4
           FROM facts WHERE decided_day BETWEEN :start AND :end AND outcome IS NOT NULL
             AND turnaround_seconds IS NOT NULL
           GROUP BY review_type""",
        start=start,
        end=end,
    )
    by = {r.review_type: r for r in rows}
    out = []
    for i, (lo, hi) in enumerate(TURNAROUND_BINS):
        label = f"{lo}–{hi} h" if hi is not None else f"≥ {lo} h"
        out.append({"bin": label, **{rt: (getattr(by[rt], f"b{i}") if rt in by else 0) for rt in dm.REVIEW_TYPES}})
    return out


async def decision_trend(session: AsyncSession, start: date, end: date) -> list[dict[str, Any]]:
    """Per day: decisions by outcome, met, and average time to decision (from the daily table)."""
    rows = await _all(
        session,
        """SELECT day, outcome, sum(count)::bigint AS n, sum(met)::bigint AS met, sum(turnaround_seconds) AS secs
           FROM daily WHERE kind = 'determined' AND day BETWEEN :start AND :end GROUP BY day, outcome""",
        start=start,
        end=end,
    )
    days: dict[date, dict[str, Any]] = {}
    d = start
    while d <= end:
        days[d] = {**dict.fromkeys(OUTCOMES, 0), "decided": 0, "met": 0, "_secs": 0.0}
        d += dm.DAY
    for r in rows:
        row = days[r.day]
        row[r.outcome] = row.get(r.outcome, 0) + r.n
        row["decided"] += r.n
        row["met"] += r.met
        row["_secs"] += r.secs
    out = []
    for d, row in days.items():
        secs = row.pop("_secs")
        out.append(
            {
                "day": d.isoformat(),
                **row,
                "percent_met": dm.percent(row["met"], row["decided"]),
                "average_hours": dm.hours(secs / row["decided"]) if row["decided"] else None,
            }
        )
    return out
