"""The queue and who may take what: expedited first then earliest due; licensed in the state of service on the
day, reviewing the service, under capacity; least loaded wins; a medical director also needs a specialty
relevant to the service."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .model import MD, NURSE, Case, Reviewer, Stage


def queue_key(case: Case) -> tuple[int, datetime, datetime, str]:
    """Expedited first, then the earliest due_at (then first come, then a stable tie-break)."""
    return (0 if case.expedited else 1, case.due_at, case.enqueued_at or case.received_at, str(case.packet_id))


def in_queue_order(cases: Iterable[Case]) -> list[Case]:
    return sorted(cases, key=queue_key)


def why_not(
    reviewer: Reviewer,
    case: Case,
    day: date,
    load: int,
    relevant_specialties: frozenset[str] = frozenset(),
    *,
    stage: Stage | None = None,
    by_choice: bool = False,
) -> list[str]:
    """Why `reviewer` may not hold `case` on `day` with `load` active cases (empty: they may).

    `by_choice`: the reviewer (or a supervisor) picks the case, so a medical director may also take a nurse's
    case; the system itself gives nurse cases to nurses only.
    """
    stage = stage or case.stage
    reasons = []
    if not reviewer.active:
        reasons.append("inactive")
    if stage == Stage.MD and reviewer.role != MD:
        reasons.append("a medical director reviews escalated cases")
    if stage == Stage.NURSE and reviewer.role != NURSE and not (by_choice and reviewer.role == MD):
        reasons.append("nurse-stage cases go to clinical reviewers")
    if not reviewer.licensed_in(case.state_of_service, day):
        reasons.append(f"no licence in {case.state_of_service} valid on {day.isoformat()}")
    if case.service_id is None or case.service_id not in reviewer.services:
        reasons.append("does not review this service")
    if stage == Stage.MD and not (reviewer.specialties & relevant_specialties):
        reasons.append("no specialty relevant to this service")
    if load >= reviewer.capacity:
        reasons.append(f"at capacity ({load} of {reviewer.capacity})")
    return reasons


def pick(
    reviewers: Sequence[Reviewer],
    case: Case,
    day: date,
    loads: Mapping[str, int],
    relevant_specialties: frozenset[str] = frozenset(),
) -> Reviewer | None:
    """The eligible reviewer with the fewest active cases (ties: the most spare capacity, then the id)."""
    eligible = [
        r
        for r in reviewers
        if r.auto_assign
        and r.user_id not in case.declined_by
        and not why_not(r, case, day, loads.get(r.user_id, 0), relevant_specialties)
    ]
    if not eligible:
        return None
    return min(eligible, key=lambda r: (loads.get(r.user_id, 0), -(r.capacity - loads.get(r.user_id, 0)), r.user_id))


@dataclass(frozen=True)
class Reach:
    """Where the reviewers the system may give a stage's cases to have room today: states and services."""

    stage: Stage
    states: frozenset[str]
    services: frozenset[str]


def reach(reviewers: Sequence[Reviewer], day: date, loads: Mapping[str, int]) -> list[Reach]:
    """Per stage, the states and services some reviewer with room covers (empty: no waiting case can be assigned,
    so the queue need not be read). The system gives nurse-stage cases to nurses only, and a medical director's
    stage to medical directors."""
    found: dict[Stage, tuple[set[str], set[str]]] = {}
    for r in reviewers:
        stage = {NURSE: Stage.NURSE, MD: Stage.MD}.get(r.role)
        if stage is None or not (r.active and r.auto_assign and loads.get(r.user_id, 0) < r.capacity):
            continue
        licensed = {lic.state for lic in r.licences if lic.valid_on(day)}
        if licensed and r.services:
            states, services = found.setdefault(stage, (set(), set()))
            states |= licensed
            services |= r.services
    return [
        Reach(stage, frozenset(st), frozenset(sv))
        for stage, (st, sv) in sorted(found.items(), key=lambda kv: kv[0].value)
    ]


def plan(
    cases: Iterable[Case],
    reviewers: Sequence[Reviewer],
    day: date,
    loads: Mapping[str, int],
    specialties_of: Mapping[str, frozenset[str]],
) -> list[tuple[uuid.UUID, str]]:
    """Assignments for waiting cases, in queue order, each counted against the reviewer's load at once."""
    current = dict(loads)
    planned = []
    for case in in_queue_order(cases):
        chosen = pick(reviewers, case, day, current, specialties_of.get(case.service_id or "", frozenset()))
        if chosen is not None:
            planned.append((case.packet_id, chosen.user_id))
            current[chosen.user_id] = current.get(chosen.user_id, 0) + 1
    return planned


def next_for(
    reviewer: Reviewer,
    cases: Iterable[Case],
    day: date,
    load: int,
    specialties_of: Mapping[str, frozenset[str]],
) -> Case | None:
    """The first waiting case in queue order `reviewer` may take (their own pick)."""
    for case in in_queue_order(cases):
        if not why_not(
            reviewer, case, day, load, specialties_of.get(case.service_id or "", frozenset()), by_choice=True
        ):
            return case
    return None


def at_risk(case: Case, now: datetime, window: timedelta) -> bool:
    """Still open and due within `window` (or already past due)."""
    return case.due_at - now <= window
