"""What outbound's use cases need, as Protocols: the unit of work and its repositories, the peers, the clock.

`adapters/repositories.py` implements the unit of work over outbound's tables; `tests/unit/fakes.py` in memory.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, Self

from wiser_contracts.envelope import Message

# ------------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Subscription:
    id: uuid.UUID
    client_id: str
    url: str
    events: tuple[str, ...]
    secret: str | None
    removed: bool


@dataclass(frozen=True)
class WebhookDelivery:
    id: int
    event_id: uuid.UUID
    subscription_id: uuid.UUID
    packet_id: uuid.UUID
    kind: str
    body: str
    status: str  # pending, delivered, failed, cancelled
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class WebhookAttempt:
    n: int
    at: datetime
    status_code: int | None
    response: str | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True)
class Delivery:
    id: uuid.UUID
    packet_id: uuid.UUID
    round: int
    packet_version: int
    set_id: str | None
    kind: str | None
    status: str  # sending, completed, failed
    created_at: datetime
    error: str | None = None
    purpose: str = "decision"  # decision (T16/T17 when settled) or notice (the reclassification notice)


@dataclass(frozen=True)
class Copy:
    id: uuid.UUID
    delivery_id: uuid.UUID
    recipient: str  # requester, beneficiary
    channel: str  # fax, mail, esmd, email, webhook
    letter_id: str
    destination: dict[str, Any]  # PHI: stored encrypted
    status: str  # pending, sending, sent, confirmed, failed
    attempts: int
    first_at: datetime
    reference: str
    next_attempt_at: datetime | None = None
    provider_id: str | None = None
    provider_status: str | None = None
    last_error: str | None = None
    confirmed_at: datetime | None = None


# -------------------------------------------------------------------------------------- repositories


@dataclass(frozen=True)
class Heard:
    """An event of intake's about a partner's packet that outbound handled (kept a while for late subscriptions)."""

    message_id: uuid.UUID
    packet_id: uuid.UUID
    client_id: str
    kind: str  # "transitioned" or "reclassified"
    to_state: str | None
    version: int
    occurred_at: datetime


class Packets(Protocol):
    async def owner(self, packet_id: uuid.UUID) -> tuple[str, str] | None:
        """(partner client, intake channel) of a packet outbound has heard of."""

    async def remember(self, packet_id: uuid.UUID, client_id: str, channel: str) -> None: ...

    async def hold_client(self, client_id: str, *, exclusive: bool = False) -> None:
        """Until the transaction ends: an event handler holds its partner shared, a registration exclusively, so
        a registration and an event of the same partner's never pass each other unseen."""

    async def heard(self, event: Heard) -> None: ...

    async def heard_since(self, client_id: str, since: datetime) -> list[Heard]:
        """The partner's events handled so far that occurred at or after `since`, oldest first."""

    async def forget_heard(self, before: datetime) -> int:
        """Drop what was heard before `before`; how many."""


class Subscriptions(Protocol):
    async def registered(
        self, id: uuid.UUID, client_id: str, url: str, events: tuple[str, ...], secret: str, at: datetime
    ) -> None:
        """Add it, or fill a removal heard first (it stays removed)."""

    async def removed(self, id: uuid.UUID, client_id: str, at: datetime) -> None: ...

    async def active_for(self, client_id: str, kinds: list[str]) -> list[Subscription]: ...

    async def get(self, id: uuid.UUID) -> Subscription | None: ...


class WebhookDeliveries(Protocol):
    async def add(
        self, event_id: uuid.UUID, subscription_id: uuid.UUID, packet_id: uuid.UUID, kind: str, body: str, at: datetime
    ) -> bool:
        """Queue one event for one subscription; False when it was already queued (same event id)."""

    async def claim_due(self, now: datetime, limit: int, until: datetime) -> list[WebhookDelivery]:
        """Due pending deliveries, not due again before `until` (another replica skips them; a crash frees them)."""

    async def attempted(
        self, delivery_id: int, attempt: WebhookAttempt, status: str, next_attempt_at: datetime | None
    ) -> None: ...

    async def postpone(self, delivery_id: int, at: datetime) -> None: ...

    async def cancel_pending(self, subscription_id: uuid.UUID, at: datetime) -> None: ...

    async def open_for_event(self, event_id: uuid.UUID) -> bool:
        """Whether some subscription still has (or already took) this event."""


class Deliveries(Protocol):
    async def latest(self, packet_id: uuid.UUID, lock: bool = False, purpose: str = "decision") -> Delivery | None: ...

    async def get(self, delivery_id: uuid.UUID, lock: bool = False) -> Delivery | None: ...

    async def add(self, delivery: Delivery) -> None: ...

    async def finish(self, delivery_id: uuid.UUID, status: str, at: datetime, error: str | None = None) -> None: ...


class Copies(Protocol):
    async def of_delivery(self, delivery_id: uuid.UUID) -> list[Copy]: ...

    async def add(self, copy: Copy) -> None: ...

    async def get(self, copy_id: uuid.UUID, lock: bool = False) -> Copy | None: ...

    async def by_reference(self, reference: str, lock: bool = False) -> Copy | None: ...

    async def by_provider_id(self, channel: str, provider_id: str) -> Copy | None: ...

    async def update(self, copy_id: uuid.UUID, **values: Any) -> None: ...

    async def claim_due(self, now: datetime, limit: int, until: datetime) -> list[Copy]: ...


class Attempts(Protocol):
    async def started(self, copy_id: uuid.UUID, n: int, at: datetime) -> None: ...

    async def finished(
        self,
        copy_id: uuid.UUID,
        n: int,
        at: datetime,
        outcome: str,
        status: int | None,
        response: str | None,
        error: str | None,
    ) -> None:
        """The answer to attempt `n` (the one `started` recorded), or a new row when there is none."""  # fmt: skip


class Callbacks(Protocol):
    async def first_time(self, provider: str, event_id: str, body: dict[str, Any]) -> bool:
        """Remember a provider's callback; False when it was seen before (a duplicate)."""


class UnitOfWork(Protocol):
    packets: Packets
    subscriptions: Subscriptions
    webhooks: WebhookDeliveries
    deliveries: Deliveries
    copies: Copies
    attempts: Attempts
    callbacks: Callbacks

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None: ...

    async def commit(self) -> None: ...

    async def emit(self, message: Message) -> None: ...

    async def record_inbox(self, key: str, message: Message) -> bool: ...


# ---------------------------------------------------------------------------------------------- peers


class PacketSource(Protocol):
    async def packet(self, packet_id: uuid.UUID) -> dict[str, Any]:
        """Intake's ops detail of a packet (history, contacts, partner client, channel)."""


class LetterSource(Protocol):
    async def letter_set(self, packet_id: uuid.UUID, kind: str = "decision") -> dict[str, Any]:
        """The packet's letter set: its decision letters, or (`notice`) its reclassification notice."""

    async def pdf(self, letter_id: str) -> bytes: ...


@dataclass(frozen=True)
class Sent:
    """A partner's answer to one webhook POST (or why there was none)."""

    status_code: int | None
    response: str | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookSender(Protocol):
    async def send(self, url: str, secret: str, event_id: str, kind: str, body: str) -> Sent: ...


@dataclass(frozen=True)
class Outcome:
    """What a provider said about one copy."""

    accepted: bool
    provider_id: str | None = None
    confirmed: bool = False  # the channel's confirmation came with the answer (esMD ack, SMTP 250)
    status_code: int | None = None
    response: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Send:
    reference: str
    destination: dict[str, Any]
    pdf: bytes
    packet: dict[str, Any]  # tracking number, decision code, UTN: no PHI


class Channel(Protocol):
    async def send(self, request: Send) -> Outcome: ...

    async def lookup(self, reference: str) -> Outcome | None:
        """What the provider knows of our reference (None: it never got it)."""


class Sealer(Protocol):
    def open(self, sealed: str) -> str: ...
