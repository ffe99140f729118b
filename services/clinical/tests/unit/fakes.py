"""In-memory stand-ins for clinical's ports: the unit of work (its tables, outbox, inbox), intake and the MAC."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Self

from wiser_clinical.domain.assignment import Reach
from wiser_clinical.domain.checklist import AnswerRecord
from wiser_clinical.domain.model import Assignment, Case, Reviewer, Status
from wiser_clinical.reference import load_checklists
from wiser_clinical.usecases.ports import Clinical, MacUnavailable, PeerToPeer
from wiser_contracts.envelope import Message


@dataclass
class Tables:
    reviewers: dict[str, Reviewer] = field(default_factory=dict)
    cases: dict[uuid.UUID, Case] = field(default_factory=dict)
    assignments: list[dict[str, Any]] = field(default_factory=list)
    answers: dict[uuid.UUID, dict[str, AnswerRecord]] = field(default_factory=dict)
    notes: list[dict[str, Any]] = field(default_factory=list)
    determinations: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    utn: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    reads: list[tuple[str, uuid.UUID, str]] = field(default_factory=list)
    inbox: set[tuple[uuid.UUID, str]] = field(default_factory=set)
    outbox: list[Message] = field(default_factory=list)


class FakeUow:
    """Works on a copy of the tables; commit puts the copy back (rollback = drop it)."""

    def __init__(self, db: Tables) -> None:
        self.db = db
        self.t: Tables

    async def __aenter__(self) -> Self:
        self.t = copy.deepcopy(self.db)
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def commit(self) -> None:
        for name in self.db.__dataclass_fields__:
            setattr(self.db, name, getattr(self.t, name))
        self.t = copy.deepcopy(self.db)

    async def emit(self, message: Message) -> None:
        self.t.outbox.append(message)

    async def first_time(self, message_id: uuid.UUID, handler: str) -> bool:
        if (message_id, handler) in self.t.inbox:
            return False
        self.t.inbox.add((message_id, handler))
        return True

    async def lock_assignments(self) -> None:
        return None

    async def reviewer(self, user_id: str) -> Reviewer | None:
        return self.t.reviewers.get(user_id)

    async def reviewers(self) -> list[Reviewer]:
        return sorted(self.t.reviewers.values(), key=lambda r: r.user_id)

    async def save_reviewer(self, reviewer: Reviewer) -> None:
        self.t.reviewers[reviewer.user_id] = reviewer

    async def loads(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for a in self.t.assignments:
            if a["active"]:
                out[a["reviewer_id"]] = out.get(a["reviewer_id"], 0) + 1
        return out

    async def case(self, packet_id: uuid.UUID, *, lock: bool = False) -> Case | None:
        case = self.t.cases.get(packet_id)
        return replace(case) if case else None

    async def add_case(self, case: Case) -> bool:
        if case.packet_id in self.t.cases:
            return False
        self.t.cases[case.packet_id] = replace(case)
        return True

    async def save_case(self, case: Case) -> None:
        self.t.cases[case.packet_id] = replace(case)

    async def waiting_cases(self, where: Collection[Reach] | None = None) -> list[Case]:
        held = {a["packet_id"] for a in self.t.assignments if a["active"]}
        return [
            replace(c)
            for c in self.t.cases.values()
            if c.status in (Status.QUEUED, Status.MD_REVIEW)
            and c.packet_id not in held
            and (
                where is None
                or any(
                    r.stage == c.stage and c.state_of_service in r.states and c.service_id in r.services for r in where
                )
            )
        ]

    async def open_cases(self) -> list[tuple[Case, Assignment | None]]:
        return [
            (replace(c), await self.active_assignment(c.packet_id))
            for c in self.t.cases.values()
            if c.status in (Status.QUEUED, Status.IN_REVIEW, Status.MD_REVIEW)
        ]

    async def active_assignment(self, packet_id: uuid.UUID) -> Assignment | None:
        for a in self.t.assignments:
            if a["active"] and a["packet_id"] == packet_id:
                return a["assignment"]  # type: ignore[no-any-return]
        return None

    async def assign(self, assignment: Assignment) -> bool:
        if await self.active_assignment(assignment.packet_id) is not None:
            return False  # what the partial unique index does
        self.t.assignments.append(
            {"packet_id": assignment.packet_id, "reviewer_id": assignment.reviewer_id, "active": True,
             "assignment": assignment, "end_reason": None}
        )  # fmt: skip
        return True

    async def end_assignment(self, packet_id: uuid.UUID, reason: str, at: datetime) -> Assignment | None:
        for a in self.t.assignments:
            if a["active"] and a["packet_id"] == packet_id:
                a["active"], a["end_reason"] = False, reason
                return a["assignment"]  # type: ignore[no-any-return]
        return None

    async def answers(self, packet_id: uuid.UUID) -> dict[str, AnswerRecord]:
        return dict(self.t.answers.get(packet_id, {}))

    async def save_answer(self, packet_id: uuid.UUID, answer: AnswerRecord, at: datetime) -> None:
        self.t.answers.setdefault(packet_id, {})[answer.criterion_id] = answer

    async def add_note(self, packet_id: uuid.UUID, author: str, kind: str, text: str, at: datetime) -> None:
        self.t.notes.append({"packet_id": packet_id, "author": author, "kind": kind, "text": text, "at": at})

    async def notes(self, packet_id: uuid.UUID) -> list[dict[str, Any]]:
        return [n for n in self.t.notes if n["packet_id"] == packet_id]

    async def determination(self, packet_id: uuid.UUID) -> dict[str, Any] | None:
        return self.t.determinations.get(packet_id)

    async def add_determination(self, packet_id: uuid.UUID, determination: dict[str, Any]) -> None:
        assert packet_id not in self.t.determinations
        self.t.determinations[packet_id] = determination

    async def packet_of_utn(self, utn: str) -> uuid.UUID | None:
        return next((pid for pid, r in self.t.utn.items() if r.get("utn") == utn), None)

    async def add_utn_request(self, packet_id: uuid.UUID, state: str, outcome: str, version: int) -> None:
        self.t.utn.setdefault(
            packet_id,
            {"packet_id": packet_id, "state_of_service": state, "outcome": outcome, "packet_version": version,
             "status": "pending", "attempts": 0, "next_attempt_at": datetime.min.replace(tzinfo=UTC), "utn": None},
        )  # fmt: skip

    async def due_utn_requests(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        due = [dict(r) for r in self.t.utn.values() if r["status"] == "pending" and r["next_attempt_at"] <= now]
        return sorted(due, key=lambda r: r["next_attempt_at"])[:limit]

    async def utn_request(self, packet_id: uuid.UUID) -> dict[str, Any] | None:
        return self.t.utn.get(packet_id)

    async def utn_failed(self, packet_id: uuid.UUID, attempts: int, next_at: datetime, error: str) -> None:
        self.t.utn[packet_id].update(attempts=attempts, next_attempt_at=next_at, last_error=error)

    async def utn_assigned(self, packet_id: uuid.UUID, utn: str, at: datetime) -> bool:
        row = self.t.utn[packet_id]
        if row["status"] != "pending":
            return False
        row.update(status="assigned", utn=utn, assigned_at=at)
        return True

    async def record_read(self, user_id: str, packet_id: uuid.UUID, what: str) -> None:
        self.t.reads.append((user_id, packet_id, what))


class FakeIntake:
    def __init__(self) -> None:
        self.packets: dict[uuid.UUID, dict[str, Any]] = {}

    async def packet(self, packet_id: uuid.UUID, *, view: str = "full") -> dict[str, Any]:
        return self.packets[packet_id]

    async def document(self, packet_id: uuid.UUID, document_id: uuid.UUID) -> tuple[str, str, bytes]:
        return "application/pdf", "notes.pdf", b"%PDF-1.4"


class FakeMac:
    """Issues the sandbox's shape of UTN; `down` makes it unavailable."""

    def __init__(self) -> None:
        self.down = False
        self.asked = 0

    async def utn(self, packet_id: uuid.UUID, state: str, outcome: str) -> str:
        self.asked += 1
        if self.down:
            raise MacUnavailable("HTTP 503")
        return f"JLA26{packet_id.int % 10**9:09d}"


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **kw: float) -> None:
        self.at += timedelta(**kw)


def make_ctx(at: datetime | None = None) -> tuple[Clinical, Tables, FakeIntake, FakeMac, Clock]:
    db, intake, mac = Tables(), FakeIntake(), FakeMac()
    clock = Clock(at or datetime(2026, 3, 2, 14, 0, tzinfo=UTC))
    ctx = Clinical(
        uow=lambda: FakeUow(db),
        intake=intake,
        mac=mac,
        checklists=load_checklists(clock().date()),
        peer_to_peer=PeerToPeer("1-800-555-0134", "weekdays", "call"),
        utn_retry_base=1.0,
        utn_retry_max=60.0,
        now=clock,
    )
    return ctx, db, intake, mac, clock
