"""A seeded history of packets with known timestamps, as intake's (and clinical's) events, and the plan each
packet followed, so tests can compute every figure independently of the projection."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from wiser_contracts import messages as m

STATES_OF_SERVICE = ("NJ", "OH", "OK", "TX", "AZ", "WA")
CHANNELS = ("portal", "portal", "portal", "fax", "mail", "esmd", "api")
CODES = ("64581", "27447", "63685", "62323", "64483", "15271", "J3490")
DISMISSALS = ("NON_WISER_SERVICE", "INVALID_BENEFICIARY", "DUPLICATE_REQUEST", "NOT_ORIGINAL_MEDICARE")
REVIEWERS = tuple(f"nurse-{i}" for i in range(6))
DIRECTORS = ("md-1", "md-2")
OPEN = ("received", "validating", "manual_review", "clinical_queue", "clinical_review", "md_review")
H = timedelta(hours=1)


@dataclass
class Plan:
    packet_id: uuid.UUID
    received_at: datetime
    review_type: str  # at the end (after any reclassification)
    due_at: datetime  # at the end
    state_of_service: str
    channel: str
    codes: list[str]
    npi: str
    resubmission: bool
    state: str
    decided_at: datetime | None = None
    outcome: str | None = None
    lines: list[dict[str, str]] = field(default_factory=list)
    dismissal_codes: list[str] = field(default_factory=list)
    reviewer: str | None = None
    closed_at: datetime | None = None
    messages: list[m.Message] = field(default_factory=list)


def _avoid_edges(age: timedelta) -> timedelta:
    """Keep an open packet's age and due time well away from the bucket and clock edges (10 minutes)."""
    for edge in (24, 48, 72):
        if abs(age - edge * H) < timedelta(minutes=15):
            age += timedelta(minutes=30)
    return age


def seeded_history(n: int, seed: int, base: datetime, now: datetime, at_risk: timedelta) -> list[Plan]:
    rnd = random.Random(seed)
    npis = [f"1{rnd.randrange(10**8, 10**9)}" for _ in range(60)]
    plans = []
    for i in range(n):
        pid = uuid.UUID(int=rnd.getrandbits(128))
        sos = rnd.choice(STATES_OF_SERVICE)
        channel = rnd.choice(CHANNELS)
        expedited = rnd.random() < 0.2
        codes = rnd.sample(CODES, rnd.choice((1, 1, 2)))
        npi = npis[min(int(rnd.expovariate(1 / 12)), 59)]
        resub = rnd.random() < 0.12
        open_packet = i % 10 == 0
        if open_packet:
            age = _avoid_edges(timedelta(minutes=rnd.randrange(20, 100 * 60)))
            received_at = now - age
        else:
            received_at = base + timedelta(minutes=rnd.randrange(0, 60 * 24 * 60))
        rtype = "expedited" if expedited else "standard"
        due = received_at + (2 if expedited else 3) * 24 * H
        p = Plan(pid, received_at, rtype, due, sos, channel, codes, npi, resub, "received")
        msgs: list[m.Message] = [
            m.PacketReceived(
                packet_id=pid,
                producer="intake",
                occurred_at=received_at,
                tracking_number=f"WSR-T-{i:06d}",
                channel=channel,
                review_type=rtype,
                state_of_service=sos,
                service_codes=tuple(codes),
                received_at=received_at,
                due_at=due,
                submission_type="resubmission" if resub else "initial",
                practitioner_npi=npi,
            )
        ]
        version, at = 1, received_at
        system = m.Actor(type=m.ActorType.SYSTEM, id="intake")

        def move(frm: str, to: str, tid: str, when: datetime, actor: m.Actor = system, **extra: Any) -> None:
            nonlocal version
            version += 1
            msgs.append(  # noqa: B023 - used within this iteration only
                m.PacketTransitioned(
                    packet_id=pid,  # noqa: B023
                    producer="intake",
                    occurred_at=when,
                    transition=tid,
                    from_state=m.PacketState(frm),
                    to_state=m.PacketState(to),
                    version=version,
                    actor=actor,
                    **extra,
                )
            )
            p.state = to  # noqa: B023

        if open_packet:
            stop = rnd.choice(OPEN)
            span = (now - received_at) / 8
            path = [
                ("received", "validating", "T1"),
                ("validating", "clinical_queue", "T2"),
                ("clinical_queue", "clinical_review", "T7"),
                ("clinical_review", "md_review", "T10"),
            ]
            if stop == "manual_review":
                path = [("received", "validating", "T1"), ("validating", "manual_review", "T3")]
            for frm, to, tid in path:
                if p.state == stop:
                    break
                at += span
                move(frm, to, tid, at)
            p.messages = msgs
            plans.append(p)
            continue

        turnaround = timedelta(minutes=rnd.randrange(30, 100 * 60))
        decided = received_at + turnaround
        kind = rnd.random()
        if kind < 0.1:  # dismissed by validation
            at = received_at + turnaround / 2
            move("received", "validating", "T1", received_at)
            codes_d = rnd.sample(DISMISSALS, rnd.choice((1, 1, 2)))
            move("validating", "determined", "T4", decided, outcome=m.Outcome.DISMISSED, dismissal_codes=tuple(codes_d))
            p.outcome, p.dismissal_codes = "dismissed", codes_d
        else:
            move("received", "validating", "T1", received_at)
            move("validating", "clinical_queue", "T2", received_at + turnaround / 5)
            nurse = rnd.choice(REVIEWERS)
            msgs.append(
                m.ReviewAssigned(
                    packet_id=pid,
                    producer="clinical",
                    occurred_at=received_at + turnaround / 4,
                    packet_version=version,
                    reviewer_id=nurse,
                )
            )
            move("clinical_queue", "clinical_review", "T7", received_at + turnaround / 4)
            if expedited and rnd.random() < 0.25:  # urgency not confirmed: standard from now on
                p.review_type, p.due_at = "standard", received_at + 3 * 24 * H
                version += 1
                msgs.append(
                    m.PacketReclassified(
                        packet_id=pid,
                        producer="intake",
                        occurred_at=received_at + turnaround / 3,
                        review_type="standard",
                        due_at=p.due_at,
                        version=version,
                    )
                )
            outcome = rnd.choices(("affirmed", "non_affirmed", "partially_affirmed"), (70, 20, 10))[0]
            if outcome == "affirmed" and rnd.random() < 0.7:
                actor = m.Actor(type=m.ActorType.USER, id=nurse, roles=("clinical_reviewer",))
                tid, p.reviewer = "T9", nurse
            else:
                move("clinical_review", "md_review", "T10", received_at + turnaround / 2)
                director = rnd.choice(DIRECTORS)
                actor = m.Actor(type=m.ActorType.USER, id=director, roles=("medical_director",))
                tid, p.reviewer = "T11", director
            if outcome == "partially_affirmed" and len(codes) == 1:
                outcome = "non_affirmed"
            line_outcomes = {
                "affirmed": ["affirmed"] * len(codes),
                "non_affirmed": ["non_affirmed"] * len(codes),
                "partially_affirmed": ["affirmed"] + ["non_affirmed"] * (len(codes) - 1),
            }[outcome]
            lines = [{"code": c, "outcome": o} for c, o in zip(codes, line_outcomes, strict=True)]
            move(
                p.state,
                "determined",
                tid,
                decided,
                actor=actor,
                outcome=m.Outcome(outcome),
                lines=tuple(m.LineDecision(code=ln["code"], outcome=m.Outcome(ln["outcome"])) for ln in lines),
            )
            p.outcome, p.lines = outcome, lines
        p.decided_at = decided
        if decided > p.due_at and rnd.random() < 0.5:
            msgs.append(
                m.PacketSlaBreached(
                    packet_id=pid,
                    producer="intake",
                    occurred_at=p.due_at,
                    state=m.PacketState.CLINICAL_REVIEW,
                    due_at=p.due_at,
                )
            )
        if rnd.random() < 0.6:
            move("determined", "letter_review", "T13", decided + H)
            move("letter_review", "delivering", "T14", decided + 2 * H)
            closed = decided + timedelta(hours=rnd.randrange(3, 30))
            move("delivering", "closed", "T16", closed, closure_reason="delivered")
            p.closed_at = closed
        p.messages = msgs
        plans.append(p)
    return plans
