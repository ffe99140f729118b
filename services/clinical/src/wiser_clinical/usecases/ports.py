"""What the use cases need from the world: a unit of work over clinical's own tables (with the outbox and inbox),
intake's ops API, the MAC's UTN service, and the clock. `adapters/` implements them; `tests/unit` fakes them."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Protocol, Self

from wiser_contracts.envelope import Message

from ..domain.assignment import Reach
from ..domain.checklist import AnswerRecord, Checklists
from ..domain.model import Assignment, Case, Reviewer


class UnitOfWork(Protocol):
    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
    async def commit(self) -> None: ...

    # bus
    async def emit(self, message: Message) -> None: ...
    async def first_time(self, message_id: uuid.UUID, handler: str) -> bool: ...
    async def lock_assignments(self) -> None: ...

    # reviewers
    async def reviewer(self, user_id: str) -> Reviewer | None: ...
    async def reviewers(self) -> list[Reviewer]: ...
    async def save_reviewer(self, reviewer: Reviewer) -> None: ...
    async def loads(self) -> dict[str, int]: ...

    # cases
    async def case(self, packet_id: uuid.UUID, *, lock: bool = False) -> Case | None: ...
    async def add_case(self, case: Case) -> bool: ...
    async def save_case(self, case: Case) -> None: ...
    async def waiting_cases(self, where: Collection[Reach] | None = None) -> list[Case]:
        """Cases no one holds (queued, or escalated to a medical director); with `where`, only those of a
        stage, state and service it names."""

    async def open_cases(self) -> list[tuple[Case, Assignment | None]]: ...

    # assignments: one active per case (the database refuses a second: `assign` returns False)
    async def active_assignment(self, packet_id: uuid.UUID) -> Assignment | None: ...
    async def assign(self, assignment: Assignment) -> bool: ...
    async def end_assignment(self, packet_id: uuid.UUID, reason: str, at: datetime) -> Assignment | None: ...

    # checklist, notes, determination
    async def answers(self, packet_id: uuid.UUID) -> dict[str, AnswerRecord]: ...
    async def save_answer(self, packet_id: uuid.UUID, answer: AnswerRecord, at: datetime) -> None: ...
    async def add_note(self, packet_id: uuid.UUID, author: str, kind: str, text: str, at: datetime) -> None: ...
    async def notes(self, packet_id: uuid.UUID) -> list[dict[str, Any]]: ...
    async def determination(self, packet_id: uuid.UUID) -> dict[str, Any] | None: ...
    async def add_determination(self, packet_id: uuid.UUID, determination: dict[str, Any]) -> None: ...
    async def packet_of_utn(self, utn: str) -> uuid.UUID | None: ...

    # UTN requests
    async def add_utn_request(self, packet_id: uuid.UUID, state: str, outcome: str, version: int) -> None: ...
    async def due_utn_requests(self, now: datetime, limit: int) -> list[dict[str, Any]]: ...
    async def utn_request(self, packet_id: uuid.UUID) -> dict[str, Any] | None: ...
    async def utn_failed(self, packet_id: uuid.UUID, attempts: int, next_at: datetime, error: str) -> None: ...
    async def utn_assigned(self, packet_id: uuid.UUID, utn: str, at: datetime) -> bool: ...

    # audit of reads of intake's packet data
    async def record_read(self, user_id: str, packet_id: uuid.UUID, what: str) -> None: ...


class IntakePort(Protocol):
    async def packet(self, packet_id: uuid.UUID, *, view: str = "full") -> dict[str, Any]: ...
    async def document(self, packet_id: uuid.UUID, document_id: uuid.UUID) -> tuple[str, str, bytes]: ...


class MacUnavailable(Exception):
    """The MAC did not answer (down, timed out, 5xx): ask again later."""


class MacRefused(Exception):
    """The MAC answered no (4xx): asking again will not help."""


class MacPort(Protocol):
    async def utn(self, packet_id: uuid.UUID, state: str, outcome: str) -> str: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PeerToPeer:
    phone: str
    hours: str
    how: str


@dataclass
class Clinical:
    """What the use cases run with, built once by bootstrap (tests pass fakes)."""

    uow: Callable[[], UnitOfWork]
    intake: IntakePort
    mac: MacPort
    checklists: Checklists
    peer_to_peer: PeerToPeer
    at_risk_window: timedelta = timedelta(hours=12)
    utn_retry_base: float = 2.0
    utn_retry_max: float = 300.0
    now: Callable[[], datetime] = utc_now
    on_determined: Callable[[], None] = lambda: None  # wakes the UTN worker
    extra: Mapping[str, Any] = field(default_factory=dict)
