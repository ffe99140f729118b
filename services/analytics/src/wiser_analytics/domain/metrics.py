"""The metrics' definitions, as pure functions over fact rows.

The API answers with SQL over the read model (adapters/queries.py) for speed; these functions are the
definitions it must agree with (tests/integration holds the SQL to them) and the arithmetic both share
(percentages, medians, aging buckets, gold-card rules).

Definitions:
- A determination belongs to the calendar day (in the state of service's time zone) it was recorded on;
  a request to the day it was received. A period is an inclusive range of such days.
- Time to decision runs from `received_at` to the decision time (when intake recorded the packet
  `determined`), in hours; dismissals are decisions too. Standard and expedited are the packet's review
  type at decision (an expedited request reclassified to standard counts as standard).
- The median of an even count is the mean of the two middle values.
- "Met" means determined by `due_at`.
- Aging: a packet's age is the time since it was received; buckets < 1 d, 1–2 d, 2–3 d, ≥ 3 d.
  At risk: not yet determined, `due_at` not passed and at most the at-risk window away. Breached: not yet
  determined and `due_at` passed.
- Gold-card candidates: practitioners with at least `min_requests` requests received in the period whose
  affirmation rate (affirmed ÷ decisions on the merits, of those requests) is above the threshold.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from .facts import MERITS, OPEN_STATES, OUTCOMES, STATES, Fact

DAY = timedelta(days=1)
AGING_BUCKETS = ("lt_1d", "d1_2", "d2_3", "gt_3d")
REVIEW_TYPES = ("standard", "expedited")


def percent(part: int, whole: int) -> float | None:
    """`part` of `whole` in percent, two decimals; None when there is nothing to divide by."""
    return round(100.0 * part / whole, 2) if whole else None


def median(values: Sequence[float]) -> float | None:
    """The middle value; of an even count, the mean of the two middle values."""
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def hours(value: float | None) -> float | None:
    return None if value is None else round(value / 3600.0, 3)


def aging_bucket(age: timedelta) -> str:
    if age < DAY:
        return "lt_1d"
    if age < 2 * DAY:
        return "d1_2"
    if age < 3 * DAY:
        return "d2_3"
    return "gt_3d"


def clock_status(state: str, due_at: datetime | None, now: datetime, window: timedelta) -> str | None:
    """`breached`, `at_risk` or None for a packet in `state` (only before a determination)."""
    if state not in OPEN_STATES or due_at is None:
        return None
    if due_at < now:
        return "breached"
    if due_at - now <= window:
        return "at_risk"
    return None


def in_period(day: date | None, start: date, end: date) -> bool:
    return day is not None and start <= day <= end


# ------------------------------------------------------------------ reference implementations


def status_distribution(facts: Iterable[Fact], keep: Callable[[Fact], bool] = lambda f: True) -> dict[str, int]:
    counts = Counter(f.state for f in facts if f.state and keep(f))
    return {s: counts.get(s, 0) for s in STATES}


def aging(facts: Iterable[Fact], now: datetime, window: timedelta) -> list[dict[str, Any]]:
    rows = {s: dict.fromkeys((*AGING_BUCKETS, "at_risk", "breached", "total"), 0) for s in STATES if s != "closed"}
    for f in facts:
        if f.state not in rows or f.received_at is None:
            continue
        row = rows[f.state]
        row[aging_bucket(now - f.received_at)] += 1
        row["total"] += 1
        status = clock_status(f.state, f.due_at, now, window)
        if status:
            row[status] += 1
    return [{"state": s, **r} for s, r in rows.items()]


def decided(facts: Iterable[Fact], start: date, end: date) -> list[Fact]:
    return [f for f in facts if f.outcome and in_period(f.decided_day, start, end)]


def sla_compliance(facts: Iterable[Fact], start: date, end: date) -> list[dict[str, Any]]:
    chosen = decided(facts, start, end)
    out = []
    for rtype in (*REVIEW_TYPES, "all"):
        group = [f for f in chosen if rtype == "all" or f.review_type == rtype]
        met = sum(1 for f in group if f.met)
        out.append(
            {
                "review_type": rtype,
                "decided": len(group),
                "met": met,
                "missed": len(group) - met,
                "percent_met": percent(met, len(group)),
            }
        )
    return out


def cms_metrics(facts: Iterable[Fact], start: date, end: date) -> dict[str, Any]:
    chosen = decided(facts, start, end)
    counts = Counter(f.outcome for f in chosen)
    merits = sum(counts[o] for o in MERITS)
    resub = [f for f in chosen if f.resubmission and f.outcome in MERITS]
    resub_affirmed = sum(1 for f in resub if f.outcome == "affirmed")
    times = {}
    for rtype in REVIEW_TYPES:
        secs = [f.turnaround_seconds for f in chosen if f.review_type == rtype and f.turnaround_seconds is not None]
        times[rtype] = {"decided": len(secs), "average_hours": hours(mean(secs)), "median_hours": hours(median(secs))}
    return {
        "determinations": len(chosen),
        "counts": {o: counts.get(o, 0) for o in OUTCOMES},
        "percent_of_all": {o: percent(counts.get(o, 0), len(chosen)) for o in OUTCOMES},
        "merits_decisions": merits,
        "percent_of_merits": {o: percent(counts.get(o, 0), merits) for o in MERITS},
        "time_to_decision": times,
        "resubmissions_decided": len(resub),
        "resubmissions_affirmed": resub_affirmed,
        "percent_affirmed_after_resubmission": percent(resub_affirmed, len(resub)),
    }


def throughput(facts: Iterable[Fact], start: date, end: date) -> list[dict[str, Any]]:
    days: dict[date, dict[str, int]] = {}
    d = start
    while d <= end:
        days[d] = {"received": 0, "determined": 0, "closed": 0}
        d += DAY
    for f in facts:
        for kind, day in (("received", f.received_day), ("determined", f.decided_day), ("closed", f.closed_day)):
            if day in days:
                days[day][kind] += 1
    return [{"day": d.isoformat(), **v} for d, v in days.items()]


def reviewer_productivity(facts: Iterable[Fact], start: date, end: date) -> list[dict[str, Any]]:
    groups: dict[str, list[Fact]] = defaultdict(list)
    for f in decided(facts, start, end):
        if f.reviewer:
            groups[f.reviewer].append(f)
    out = []
    for reviewer in sorted(groups):
        group = groups[reviewer]
        counts = Counter(f.outcome for f in group)
        met = sum(1 for f in group if f.met)
        secs = [f.turnaround_seconds for f in group if f.turnaround_seconds is not None]
        out.append(
            {
                "reviewer": reviewer,
                "decided": len(group),
                **{o: counts.get(o, 0) for o in MERITS},
                "met": met,
                "percent_met": percent(met, len(group)),
                "average_hours": hours(mean(secs)),
                "median_hours": hours(median(secs)),
            }
        )
    return out


def outcomes_by_service(facts: Iterable[Fact], start: date, end: date) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for f in decided(facts, start, end):
        for line in f.line_rows():
            groups[(line["code"], f.state_of_service or "")][line["outcome"]] += 1
    out = []
    for code, sos in sorted(groups):
        c = groups[(code, sos)]
        total = sum(c.values())
        out.append(
            {
                "service_code": code,
                "state_of_service": sos,
                "lines": total,
                **{o: c.get(o, 0) for o in OUTCOMES},
                "percent_affirmed": percent(c.get("affirmed", 0), total),
            }
        )
    return out


def dismissal_reasons(facts: Iterable[Fact], start: date, end: date) -> list[dict[str, Any]]:
    chosen = [f for f in decided(facts, start, end) if f.outcome == "dismissed"]
    counts = Counter(code for f in chosen for code in f.dismissal_codes)
    return [
        {"code": code, "count": n, "percent_of_dismissals": percent(n, len(chosen))}
        for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def channel_mix(facts: Iterable[Fact], start: date, end: date) -> list[dict[str, Any]]:
    chosen = [f for f in facts if in_period(f.received_day, start, end)]
    counts = Counter(f.channel or "" for f in chosen)
    return [
        {"channel": ch, "received": n, "percent": percent(n, len(chosen))}
        for ch, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def is_gold_card_candidate(requests: int, affirmed: int, merits: int, min_requests: int, threshold: float) -> bool:
    """≥ `min_requests` requests and an affirmation rate (percent) above `threshold`."""
    rate = percent(affirmed, merits)
    return requests >= min_requests and rate is not None and rate > threshold


def gold_card(
    facts: Iterable[Fact], start: date, end: date, min_requests: int, threshold: float
) -> list[dict[str, Any]]:
    groups: dict[str, list[Fact]] = defaultdict(list)
    for f in facts:
        if f.practitioner_npi and in_period(f.received_day, start, end):
            groups[f.practitioner_npi].append(f)
    out = []
    for npi in sorted(groups):
        group = groups[npi]
        merits = sum(1 for f in group if f.outcome in MERITS)
        affirmed = sum(1 for f in group if f.outcome == "affirmed")
        if is_gold_card_candidate(len(group), affirmed, merits, min_requests, threshold):
            out.append(
                {
                    "practitioner_npi": npi,
                    "requests": len(group),
                    "merits_decisions": merits,
                    "affirmed": affirmed,
                    "affirmation_rate": percent(affirmed, merits),
                }
            )
    return out
