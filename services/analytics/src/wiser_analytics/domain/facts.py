"""One fact row per packet, folded from everything analytics has heard about it.

Every message about a packet becomes a `Record` (a normalised copy of what it says), kept in analytics' own
log; the fact row is recomputed from all the packet's records each time one arrives, sorted by the packet
version each one carries. So a message delivered twice changes nothing (its record is already there), and
messages that arrive out of order give the same row as in order. A rebuild feeds the same fold with records
made from intake's history export instead of the live events.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from itertools import pairwise
from typing import Any

from .zones import local_day, zone_of

OPEN_STATES = ("received", "validating", "manual_review", "clinical_queue", "clinical_review", "md_review")
"""Before a determination: the states the review clock runs in."""
STATES = (*OPEN_STATES, "determined", "letter_review", "delivering", "delivery_failed", "closed")
OUTCOMES = ("affirmed", "non_affirmed", "partially_affirmed", "dismissed")
MERITS = ("affirmed", "non_affirmed", "partially_affirmed")

# Where each kind of record comes from: a rebuild replaces intake's received and transition records with
# the ones made from its history export, and keeps the rest (intake's history has no copy of them).
FROM_HISTORY = ("received", "transition")
KINDS = (
    "received",
    "transition",
    "sla_breached",
    "reclassified",
    "reassigned",
    "utn_recorded",
    "corrected",
    "review_assigned",
    "review_escalated",
    "determination_recorded",
)


@dataclass(frozen=True)
class Record:
    """What one message said about a packet: its kind, the packet version it is about, when, and its data."""

    record_id: uuid.UUID  # the message id (live) or a stable id derived from the history row (rebuild)
    packet_id: uuid.UUID
    kind: str
    version: int | None
    at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)

    def sort_key(self) -> tuple[int, datetime, int, str]:
        return (self.version if self.version is not None else 0, self.at, KINDS.index(self.kind), str(self.record_id))


STABLE = ("received", "transition", "sla_breached", "reclassified", "reassigned", "utn_recorded", "corrected")
"""Intake's records: identified by packet, kind and version, whether heard live or read from its history."""


def stable_record_id(packet_id: uuid.UUID, kind: str, version: int | None) -> uuid.UUID:
    """The id of one of intake's records: the same fact (kind and packet version) always gives the same id."""
    return uuid.uuid5(packet_id, f"{kind}:{version}")


history_record_id = stable_record_id


@dataclass
class Fact:
    packet_id: uuid.UUID
    version: int = 0
    state: str | None = None
    state_entered_at: datetime | None = None
    channel: str | None = None
    review_type: str | None = None
    expedited_requested: bool = False
    reclassified: bool = False
    state_of_service: str | None = None
    time_zone: str = "UTC"
    service_codes: list[str] = field(default_factory=list)
    practitioner_npi: str | None = None
    resubmission: bool = False
    received_at: datetime | None = None
    received_day: date | None = None
    due_at: datetime | None = None
    determined_at: datetime | None = None
    decided_day: date | None = None
    turnaround_seconds: float | None = None
    met: bool | None = None
    outcome: str | None = None
    lines: list[dict[str, str]] = field(default_factory=list)
    dismissal_codes: list[str] = field(default_factory=list)
    reviewer: str | None = None
    reviewer_role: str | None = None
    assigned_reviewer: str | None = None
    escalated: bool = False
    sla_breached_at: datetime | None = None
    closed_at: datetime | None = None
    closed_day: date | None = None
    closure_reason: str | None = None
    utn: str | None = None
    corrections: int = 0
    state_first_at: dict[str, str] = field(default_factory=dict)
    state_seconds: dict[str, float] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return asdict(self)

    def line_rows(self) -> list[dict[str, Any]]:
        """One row per service line decided (dismissals: every service code, outcome dismissed)."""
        if self.outcome is None:
            return []
        lines = self.lines or [{"code": c, "outcome": self.outcome} for c in self.service_codes]
        return [
            {
                "packet_id": self.packet_id,
                "line_no": i,
                "code": ln["code"],
                "outcome": ln["outcome"],
                "state_of_service": self.state_of_service,
                "review_type": self.review_type,
                "decided_day": self.decided_day,
            }
            for i, ln in enumerate(lines)
        ]


def _dt(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def fold(packet_id: uuid.UUID, records: Iterable[Record]) -> Fact:
    """The packet's fact row from its records, whatever order they arrived in."""
    fact = Fact(packet_id)
    ordered = sorted(records, key=Record.sort_key)
    transitions = [r for r in ordered if r.kind == "transition"]
    assigned: Record | None = None
    decision: Record | None = None
    for r in ordered:
        d = r.data
        if r.kind == "received":
            fact.channel = d.get("channel")
            fact.review_type = d.get("review_type")
            fact.expedited_requested = fact.expedited_requested or d.get("review_type") == "expedited"
            fact.state_of_service = d.get("state_of_service")
            fact.service_codes = list(d.get("service_codes") or [])
            fact.practitioner_npi = d.get("practitioner_npi")
            fact.resubmission = d.get("submission_type") == "resubmission"
            fact.received_at = _dt(d.get("received_at"))
            fact.due_at = _dt(d.get("due_at"))
        elif r.kind == "reclassified":
            fact.reclassified = True
            fact.expedited_requested = True
            fact.review_type = d.get("review_type") or "standard"
            fact.due_at = _dt(d.get("due_at")) or fact.due_at
        elif r.kind in ("review_assigned", "reassigned"):
            assigned = r
        elif r.kind == "review_escalated":
            fact.escalated = True
        elif r.kind == "determination_recorded":
            decision = decision or r
        elif r.kind == "sla_breached":
            if fact.sla_breached_at is None or r.at < fact.sla_breached_at:
                fact.sla_breached_at = r.at
        elif r.kind == "utn_recorded":
            fact.utn = fact.utn or d.get("utn")
        elif r.kind == "corrected":
            fact.corrections += 1
        if r.version is not None and r.kind not in ("review_assigned", "review_escalated", "determination_recorded"):
            fact.version = max(fact.version, r.version)
    if assigned is not None:
        fact.assigned_reviewer = assigned.data.get("reviewer_id")

    timeline: list[tuple[datetime, str]] = []
    if fact.received_at is not None:
        timeline.append((fact.received_at, "received"))
        fact.state, fact.state_entered_at = "received", fact.received_at
    for t in transitions:
        d, at = t.data, t.at
        to = d["to_state"]
        timeline.append((at, to))
        fact.state, fact.state_entered_at = to, at
        fact.state_first_at.setdefault(to, at.isoformat())
        if to == "md_review":
            fact.escalated = True
        if to == "determined" and fact.determined_at is None:
            fact.determined_at = at
            fact.outcome = d.get("outcome")
            fact.lines = [{"code": ln["code"], "outcome": ln["outcome"]} for ln in d.get("lines") or ()]
            fact.dismissal_codes = list(d.get("dismissal_codes") or ())
            if d.get("transition") in ("T9", "T11") and d.get("actor_type") == "user":
                fact.reviewer = d.get("actor_id")
                fact.reviewer_role = "medical_director" if d["transition"] == "T11" else "clinical_reviewer"
        if to == "closed" and fact.closed_at is None:
            fact.closed_at = at
            fact.closure_reason = d.get("closure_reason")
    if fact.outcome is not None and not fact.lines and decision is not None and fact.outcome != "dismissed":
        # A transition without its lines (an intake that does not send them yet): the clinician's own record.
        fact.lines = [{"code": ln["code"], "outcome": ln["outcome"]} for ln in decision.data.get("lines") or ()]
    if fact.reviewer is None and decision is not None:
        fact.reviewer = decision.data.get("decided_by")
        fact.reviewer_role = decision.data.get("decided_by_role")
    if fact.received_at is not None:
        fact.state_first_at.setdefault("received", fact.received_at.isoformat())
    for (start, state), (end, _) in pairwise(timeline):
        fact.state_seconds[state] = fact.state_seconds.get(state, 0.0) + max((end - start).total_seconds(), 0.0)

    fact.time_zone = zone_of(fact.state_of_service)
    fact.received_day = local_day(fact.received_at, fact.state_of_service)
    fact.decided_day = local_day(fact.determined_at, fact.state_of_service)
    fact.closed_day = local_day(fact.closed_at, fact.state_of_service)
    if fact.determined_at is not None and fact.received_at is not None:
        fact.turnaround_seconds = (fact.determined_at - fact.received_at).total_seconds()
    if fact.determined_at is not None and fact.due_at is not None:
        fact.met = fact.determined_at <= fact.due_at
    return fact


# ------------------------------------------------------------------------------ daily aggregates

DailyKey = tuple[date, str, str, str, str, str]  # day, kind, state of service, review type, channel, outcome


def contributions(fact: Fact | None) -> dict[DailyKey, tuple[int, int, float]]:
    """What one fact adds to the daily table: (count, met, turnaround seconds) per bucket."""
    out: dict[DailyKey, tuple[int, int, float]] = {}
    if fact is None:
        return out
    sos, rtype, channel = fact.state_of_service or "", fact.review_type or "", fact.channel or ""
    if fact.received_day is not None:
        out[(fact.received_day, "received", sos, rtype, channel, "")] = (1, 0, 0.0)
    if fact.decided_day is not None:
        out[(fact.decided_day, "determined", sos, rtype, channel, fact.outcome or "")] = (
            1,
            1 if fact.met else 0,
            fact.turnaround_seconds or 0.0,
        )
    if fact.closed_day is not None:
        out[(fact.closed_day, "closed", sos, rtype, channel, fact.closure_reason or "")] = (1, 0, 0.0)
    return out


def daily_delta(old: Fact | None, new: Fact | None) -> dict[DailyKey, tuple[int, int, float]]:
    """The change to the daily table when a packet's fact row goes from `old` to `new` (zeros left out)."""
    delta: dict[DailyKey, tuple[int, int, float]] = {}
    for sign, fact in ((-1, old), (1, new)):
        for key, (n, met, secs) in contributions(fact).items():
            a, b, c = delta.get(key, (0, 0, 0.0))
            delta[key] = (a + sign * n, b + sign * met, c + sign * secs)
    return {k: v for k, v in delta.items() if v != (0, 0, 0.0)}
