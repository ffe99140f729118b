"""What letters' use cases need from the world: its own records (a unit of work), its peers, its store, a clock."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from wiser_contracts import messages as m

from ..domain.document import Document


@dataclass
class PacketInfo:
    """What letters knows of a packet from intake's events."""

    packet_id: uuid.UUID
    state: str
    version: int
    outcome: str | None = None
    utn: str | None = None
    review_type: str | None = None
    due_at: datetime | None = None


@dataclass
class SetRecord:
    id: uuid.UUID
    packet_id: uuid.UUID
    kind: str
    version: int
    status: str
    created_at: datetime
    updated_at: datetime
    letters: dict[str, uuid.UUID] = field(default_factory=dict)  # recipient → letter id
    blocked_reason: str | None = None
    template_version: str | None = None
    tracking_number: str | None = None
    due_at: datetime | None = None
    paragraphs: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class LetterVersionRecord:
    letter_id: uuid.UUID
    recipient: str
    version: int
    passed: bool
    model: dict[str, Any]
    checks: list[dict[str, Any]]
    created_at: datetime
    object_key: str | None = None
    sha256: str | None = None
    size: int | None = None
    pages: int | None = None


@dataclass
class VersionRecord:
    set_id: uuid.UUID
    version: int
    action: str  # drafted | redrafted | edited | blocked
    status: str
    actor: str
    created_at: datetime
    reason: str | None = None
    template_version: str | None = None
    packet_version: int | None = None
    letters: list[LetterVersionRecord] = field(default_factory=list)


@dataclass
class ApprovalRecord:
    set_id: uuid.UUID
    version: int
    decision: str  # approved | rejected
    by: str
    at: datetime
    role: str | None = None
    reason: str | None = None


@dataclass
class ViewRecord:
    what: str  # pdf | set | history | list
    viewer: str
    roles: str
    outcome: str
    at: datetime
    set_id: uuid.UUID | None = None
    letter_id: uuid.UUID | None = None
    version: int | None = None
    on_behalf_of: str | None = None


class Repository(Protocol):
    async def get_packet(self, packet_id: uuid.UUID) -> PacketInfo | None: ...
    async def put_packet(self, info: PacketInfo) -> None: ...
    async def get_set(self, set_id: uuid.UUID, *, lock: bool = False) -> SetRecord | None: ...
    async def set_of_letter(self, letter_id: uuid.UUID) -> tuple[SetRecord, str] | None: ...
    async def put_set(self, s: SetRecord) -> None: ...
    async def add_version(self, v: VersionRecord) -> None: ...
    async def versions(self, set_id: uuid.UUID) -> list[VersionRecord]: ...
    async def letter_version(self, letter_id: uuid.UUID, version: int) -> LetterVersionRecord | None: ...
    async def add_approval(self, a: ApprovalRecord) -> None: ...
    async def approvals(self, set_id: uuid.UUID) -> list[ApprovalRecord]: ...
    async def add_view(self, v: ViewRecord) -> None: ...
    async def template(self, version: str | None = None) -> tuple[str, dict[str, str]]: ...
    async def list_sets(self, statuses: tuple[str, ...], limit: int) -> list[SetRecord]: ...
    async def sets_of_packet(self, packet_id: uuid.UUID) -> list[SetRecord]: ...
    async def waiting_for_utn(self, limit: int) -> list[uuid.UUID]:
        """Determined on the merits, no UTN known, no decision letters yet."""
        ...


class UnitOfWork(Protocol):
    """One transaction over letters' own tables, its inbox and its outbox."""

    repo: Repository

    async def __aenter__(self) -> UnitOfWork: ...
    async def __aexit__(self, *exc: object) -> None: ...
    async def seen(self, message_id: uuid.UUID, handler: str) -> bool:
        """Record a consumed message; False when it was handled before (then do nothing)."""
        ...

    async def emit(self, message: m.Message) -> None: ...
    async def commit(self) -> None: ...


class IntakePort(Protocol):
    async def packet(self, packet_id: uuid.UUID) -> dict[str, Any]: ...


class ClinicalPort(Protocol):
    async def determination(self, packet_id: uuid.UUID) -> dict[str, Any] | None:
        """Clinical's determination, or None while it has none (404)."""
        ...


class ReferencePort(Protocol):
    async def dismissal_reasons(self) -> dict[str, dict[str, str]]:
        """code → {"reason", "corrective_action"} (validation's reference data)."""
        ...

    async def descriptions(self) -> dict[str, str]:
        """service code → its name in words (validation's reference data)."""
        ...


class ObjectStore(Protocol):
    async def put(self, key: str, data: bytes, sha256_hex: str) -> None: ...
    async def get(self, key: str) -> bytes: ...


Renderer = Callable[[Document], bytes]
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Caller:
    """Who asks: a person (through the gateway), or a service in its own name (maybe for a partner client)."""

    id: str
    roles: frozenset[str]
    service: str | None = None  # e.g. "intake" when a service calls with its own token
    on_behalf_of: str | None = None  # the partner client intake serves, for the audit trail
