"""What intake's use cases need from the world, as Protocols: the unit of work and its repositories, document
storage, the clock, and the dismissal reasons in force. `adapters/` implements them with SQLAlchemy, S3 and
HTTP; `tests/unit/fakes.py` implements them in memory.

A *row* is a record of a table with its columns as attributes (`row.state`, `row.version`, ...): a
SQLAlchemy row in production, a namespace in the fakes.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import IO, Any, Protocol, Self

from wiser_contracts.messages import Message

from ..domain.dismissal import DismissalReason
from ..domain.packet import PacketIn

Row = Any


class Packets(Protocol):
    async def add(self, packet_id: uuid.UUID, packet: PacketIn, values: Mapping[str, Any]) -> str:
        """Insert a new packet with its service lines and diagnoses; returns its tracking number."""
        ...

    async def get(self, packet_id: uuid.UUID) -> Row | None: ...

    async def lock(self, packet_id: uuid.UUID, owner: str | None = None) -> Row | None:
        """The packet, held until the unit of work ends (None if absent, or not `owner`'s when given)."""
        ...

    async def update(self, packet_id: uuid.UUID, values: Mapping[str, Any]) -> None: ...

    async def rewrite(self, packet_id: uuid.UUID, packet: PacketIn) -> None:
        """Replace what a correction may change: the packet's columns (not its reference, type and review
        type), its service lines and diagnoses."""
        ...

    async def lines(self, packet_id: uuid.UUID) -> Sequence[Row]: ...

    async def diagnoses(self, packet_id: uuid.UUID) -> list[str]: ...

    async def add_letter(self, packet_id: uuid.UUID, entry: Mapping[str, Any]) -> None: ...

    async def stuck_in_received(self, before: datetime, limit: int) -> list[uuid.UUID]:
        """Packets received before `before` and still `received` (T1 to finish)."""
        ...

    async def in_state(self, state: str) -> Sequence[Row]:
        """Every packet now in `state` (re-announcing a state's transitions)."""
        ...

    async def lock_overdue(self, at: datetime, states: Sequence[str], limit: int) -> Sequence[Row]:
        """Open packets (in `states`) due before `at` whose breach is not yet recorded, held; others'
        held rows are skipped."""
        ...


class History(Protocol):
    async def add_transition(self, values: Mapping[str, Any]) -> None: ...

    async def add_rejection(self, values: Mapping[str, Any]) -> None: ...

    async def last_into(self, packet_id: uuid.UUID, state: str) -> Row | None:
        """The latest transition (a state change, not a change in place) that brought the packet into `state`."""
        ...

    async def add_corrections(self, rows: Sequence[Mapping[str, Any]]) -> None: ...


class Documents(Protocol):
    async def count(self, packet_id: uuid.UUID) -> int: ...

    async def add(self, rows: Sequence[Mapping[str, Any]]) -> None: ...

    async def known_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of these storage keys a committed document row names (the orphan sweep keeps those)."""
        ...


class IdempotencyKeys(Protocol):
    async def find(self, client_id: str, key: str) -> tuple[str, uuid.UUID] | None:
        """(request hash, packet id) of an earlier request with this key."""
        ...

    async def add(self, client_id: str, key: str, request_hash: str, packet_id: uuid.UUID) -> bool:
        """False when a concurrent request took the key first (nothing written)."""
        ...


class Webhooks(Protocol):
    """A partner's live webhook subscriptions (a removed one is kept, marked removed)."""

    async def add(self, values: Mapping[str, Any]) -> bool:
        """False when the partner already has a live webhook at this URL (nothing written)."""
        ...

    async def live(self, client_id: str) -> Sequence[Row]: ...

    async def get(self, client_id: str, webhook_id: uuid.UUID) -> Row | None: ...

    async def remove(self, client_id: str, webhook_id: uuid.UUID, at: datetime) -> bool: ...


class UnitOfWork(Protocol):
    """`async with uow:` one transaction; nothing sticks without `commit()` (outbox rows included)."""

    @property
    def packets(self) -> Packets: ...

    @property
    def history(self) -> History: ...

    @property
    def documents(self) -> Documents: ...

    @property
    def idempotency(self) -> IdempotencyKeys: ...

    @property
    def webhooks(self) -> Webhooks: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    async def emit(self, message: Message) -> None: ...

    async def record_inbox(self, key: str, message: Message) -> bool: ...


UowFactory = Callable[[], UnitOfWork]
Clock = Callable[[], datetime]


class DocumentStorage(Protocol):
    async def put(self, key: str, fileobj: IO[bytes], content_type: str, sha256_hex: str) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def open(self, key: str, chunk: int = 256 * 1024) -> tuple[AsyncIterator[bytes], int]:
        """The object's bytes a chunk at a time, and its length (LookupError when absent)."""
        ...

    async def older_than(self, prefix: str, before: datetime) -> list[str]: ...

    async def delete(self, keys: list[str]) -> None: ...


class DismissalReasons(Protocol):
    async def in_force(self) -> Mapping[str, DismissalReason]:
        """The reference list of dismissal reasons in force today, by code (raises `errors.Unavailable`)."""
        ...
