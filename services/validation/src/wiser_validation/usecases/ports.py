"""What validation's use cases need from the world, as Protocols: the unit of work over its own tables, intake
(the packet's facts), the peers (HETS, NPPES, PECOS), the reference data in force. `adapters/` implements
them; `tests/unit/fakes.py` implements them in memory.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from types import TracebackType
from typing import Any, Protocol, Self

from wiser_contracts.messages import Message

from ..domain import Eligibility, Enrollment, NpiRecord, PacketFacts
from ..reference import ReferenceSet

Row = Any  # a record with its table's columns as attributes


class PeerUnavailable(Exception):
    """The peer did not answer usefully within its retry budget (or its breaker is open)."""


class PacketsSeen(Protocol):
    """Validation's own copy of the packets it has seen (duplicates, resubmissions)."""

    async def remember(self, facts: PacketFacts, received_at: datetime, service_ids: Sequence[str]) -> None: ...

    async def hold_pair(self, practitioner_npi: str, mbi: str) -> None:
        """Until the unit of work ends, decide nothing else for this practitioner and beneficiary."""
        ...

    async def open_before(self, facts: PacketFacts, received_at: datetime) -> Sequence[Row]:
        """Open packets of the same practitioner and beneficiary received before this one."""
        ...

    async def with_utn(self, utn: str) -> Sequence[Row]: ...

    async def close(self, packet_id: uuid.UUID) -> None: ...

    async def set_utn(self, packet_id: uuid.UUID, utn: str) -> None: ...


class Runs(Protocol):
    async def exists(self, packet_id: uuid.UUID, run: int) -> bool: ...

    async def add(self, values: Mapping[str, Any], findings: Sequence[Mapping[str, Any]]) -> None: ...


class UnitOfWork(Protocol):
    @property
    def seen(self) -> PacketsSeen: ...

    @property
    def runs(self) -> Runs: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    async def emit(self, message: Message) -> None: ...

    async def record_inbox(self, key: str, message: Message) -> bool: ...


UowFactory = Callable[[], UnitOfWork]


class Intake(Protocol):
    async def packet(self, packet_id: uuid.UUID) -> dict[str, Any]:
        """Intake's facts view of the packet (raises on failure: the bus retries)."""
        ...


class Hets(Protocol):
    async def eligibility(self, facts: PacketFacts, dos: date) -> Eligibility: ...


class Nppes(Protocol):
    async def lookup(self, npi: str) -> NpiRecord: ...


class Pecos(Protocol):
    async def enrollment(self, npi: str) -> Enrollment: ...


class Peers(Protocol):
    @property
    def hets(self) -> Hets: ...

    @property
    def nppes(self) -> Nppes: ...

    @property
    def pecos(self) -> Pecos: ...


class Reference(Protocol):
    async def in_force(self, on: date) -> ReferenceSet: ...
