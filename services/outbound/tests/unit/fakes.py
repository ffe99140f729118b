"""Every port of outbound's use cases in memory: the unit of work (a copy of the tables, put back on commit, so
"nothing half-written" is testable), intake, letters, a partner's receiver, the providers, a clock."""

from __future__ import annotations

import copy as copying
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Self

from wiser_contracts.envelope import Message
from wiser_outbound.bootstrap import bootstrap
from wiser_outbound.config import Settings
from wiser_outbound.domain.retry import Schedule
from wiser_outbound.usecases.context import Outbound
from wiser_outbound.usecases.ports import (
    Copy,
    Delivery,
    Heard,
    Outcome,
    Send,
    Sent,
    Subscription,
    WebhookAttempt,
    WebhookDelivery,
)

PDF = b"%PDF-1.4\n%%EOF\n"


@dataclass
class Tables:
    packets: dict[uuid.UUID, tuple[str, str]] = field(default_factory=dict)
    heard: dict[uuid.UUID, Heard] = field(default_factory=dict)
    subscriptions: dict[uuid.UUID, Subscription] = field(default_factory=dict)
    webhooks: dict[int, WebhookDelivery] = field(default_factory=dict)
    webhook_state: dict[int, dict[str, Any]] = field(default_factory=dict)  # next_attempt_at, attempts list
    deliveries: dict[uuid.UUID, Delivery] = field(default_factory=dict)
    copies: dict[uuid.UUID, Copy] = field(default_factory=dict)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    callbacks: set[tuple[str, str]] = field(default_factory=set)
    outbox: list[Message] = field(default_factory=list)
    inbox: set[tuple[str, uuid.UUID]] = field(default_factory=set)


class _Repo:
    def __init__(self, t: Tables) -> None:
        self.t = t


class FakePackets(_Repo):
    async def owner(self, packet_id: uuid.UUID) -> tuple[str, str] | None:
        return self.t.packets.get(packet_id)

    async def remember(self, packet_id: uuid.UUID, client_id: str, channel: str) -> None:
        self.t.packets.setdefault(packet_id, (client_id, channel))

    async def hold_client(self, client_id: str, *, exclusive: bool = False) -> None:
        return None  # one task at a time in these tests

    async def heard(self, event: Heard) -> None:
        self.t.heard.setdefault(event.message_id, event)

    async def heard_since(self, client_id: str, since: datetime) -> list[Heard]:
        found = [h for h in self.t.heard.values() if h.client_id == client_id and h.occurred_at >= since]
        return sorted(found, key=lambda h: (h.occurred_at, str(h.message_id)))

    async def forget_heard(self, before: datetime) -> int:
        old = [k for k, h in self.t.heard.items() if h.occurred_at < before]
        for k in old:
            del self.t.heard[k]
        return len(old)


class FakeSubscriptions(_Repo):
    async def registered(
        self, id: uuid.UUID, client_id: str, url: str, events: tuple[str, ...], secret: str, at: datetime
    ) -> None:
        before = self.t.subscriptions.get(id)
        self.t.subscriptions[id] = Subscription(id, client_id, url, events, secret, bool(before and before.removed))

    async def removed(self, id: uuid.UUID, client_id: str, at: datetime) -> None:
        before = self.t.subscriptions.get(id) or Subscription(id, client_id, "", (), None, True)
        self.t.subscriptions[id] = replace(before, removed=True)

    async def active_for(self, client_id: str, kinds: list[str]) -> list[Subscription]:
        return [
            s
            for s in self.t.subscriptions.values()
            if s.client_id == client_id and not s.removed and s.secret and set(s.events) & set(kinds)
        ]

    async def get(self, id: uuid.UUID) -> Subscription | None:
        return self.t.subscriptions.get(id)


class FakeWebhookDeliveries(_Repo):
    async def add(
        self, event_id: uuid.UUID, subscription_id: uuid.UUID, packet_id: uuid.UUID, kind: str, body: str, at: datetime
    ) -> bool:
        if any(w.event_id == event_id and w.subscription_id == subscription_id for w in self.t.webhooks.values()):
            return False
        wid = len(self.t.webhooks) + 1
        self.t.webhooks[wid] = WebhookDelivery(wid, event_id, subscription_id, packet_id, kind, body, "pending", 0, at)
        self.t.webhook_state[wid] = {"next": at, "attempts": []}
        return True

    async def claim_due(self, now: datetime, limit: int, until: datetime) -> list[WebhookDelivery]:
        due = [
            w for w in self.t.webhooks.values() if w.status == "pending" and self.t.webhook_state[w.id]["next"] <= now
        ]
        for w in due[:limit]:
            self.t.webhook_state[w.id]["next"] = until
        return due[:limit]

    async def attempted(
        self, delivery_id: int, attempt: WebhookAttempt, status: str, next_attempt_at: datetime | None
    ) -> None:
        self.t.webhooks[delivery_id] = replace(self.t.webhooks[delivery_id], status=status, attempts=attempt.n)
        self.t.webhook_state[delivery_id]["attempts"].append(attempt)
        self.t.webhook_state[delivery_id]["next"] = next_attempt_at

    async def postpone(self, delivery_id: int, at: datetime) -> None:
        self.t.webhook_state[delivery_id]["next"] = at

    async def cancel_pending(self, subscription_id: uuid.UUID, at: datetime) -> None:
        for w in list(self.t.webhooks.values()):
            if w.subscription_id == subscription_id and w.status == "pending":
                self.t.webhooks[w.id] = replace(w, status="cancelled")

    async def open_for_event(self, event_id: uuid.UUID) -> bool:
        return any(w.event_id == event_id and w.status in ("pending", "delivered") for w in self.t.webhooks.values())


class FakeDeliveries(_Repo):
    async def latest(self, packet_id: uuid.UUID, lock: bool = False, purpose: str = "decision") -> Delivery | None:
        mine = [d for d in self.t.deliveries.values() if d.packet_id == packet_id and d.purpose == purpose]
        return max(mine, key=lambda d: d.round) if mine else None

    async def get(self, delivery_id: uuid.UUID, lock: bool = False) -> Delivery | None:
        return self.t.deliveries.get(delivery_id)

    async def add(self, delivery: Delivery) -> None:
        same = (delivery.packet_id, delivery.purpose, delivery.round)
        if any((d.packet_id, d.purpose, d.round) == same for d in self.t.deliveries.values()):
            raise ValueError("deliveries_round")  # the table's unique constraint
        self.t.deliveries[delivery.id] = delivery

    async def finish(self, delivery_id: uuid.UUID, status: str, at: datetime, error: str | None = None) -> None:
        self.t.deliveries[delivery_id] = replace(self.t.deliveries[delivery_id], status=status, error=error)


class FakeCopies(_Repo):
    async def of_delivery(self, delivery_id: uuid.UUID) -> list[Copy]:
        return [c for c in self.t.copies.values() if c.delivery_id == delivery_id]

    async def add(self, copy: Copy) -> None:
        self.t.copies[copy.id] = copy

    async def get(self, copy_id: uuid.UUID, lock: bool = False) -> Copy | None:
        return self.t.copies.get(copy_id)

    async def by_reference(self, reference: str, lock: bool = False) -> Copy | None:
        return next((c for c in self.t.copies.values() if c.reference == reference), None)

    async def by_provider_id(self, channel: str, provider_id: str) -> Copy | None:
        return next((c for c in self.t.copies.values() if c.channel == channel and c.provider_id == provider_id), None)

    async def update(self, copy_id: uuid.UUID, **values: Any) -> None:
        self.t.copies[copy_id] = replace(self.t.copies[copy_id], **values)

    async def claim_due(self, now: datetime, limit: int, until: datetime) -> list[Copy]:
        due = [
            c
            for c in self.t.copies.values()
            if c.status in ("pending", "sending", "sent") and c.next_attempt_at is not None and c.next_attempt_at <= now
        ][:limit]
        for c in due:
            self.t.copies[c.id] = replace(c, next_attempt_at=until)
        return due


class FakeAttempts(_Repo):
    async def started(self, copy_id: uuid.UUID, n: int, at: datetime) -> None:
        self.t.attempts.append({"copy_id": copy_id, "n": n, "outcome": "started"})

    async def finished(
        self, copy_id: uuid.UUID, n: int, at: datetime, outcome: str, status: int | None, response: str | None,
        error: str | None,
    ) -> None:  # fmt: skip
        for a in self.t.attempts:
            if a["copy_id"] == copy_id and a["n"] == n and a["outcome"] == "started":
                a.update(outcome=outcome, status=status, response=response, error=error)
                return
        self.t.attempts.append(
            {"copy_id": copy_id, "n": n, "outcome": outcome, "status": status, "response": response, "error": error}
        )

    def of(self, copy_id: uuid.UUID) -> list[str]:
        return [a["outcome"] for a in self.t.attempts if a["copy_id"] == copy_id]


class FakeCallbacks(_Repo):
    async def first_time(self, provider: str, event_id: str, body: dict[str, Any]) -> bool:
        if (provider, event_id) in self.t.callbacks:
            return False
        self.t.callbacks.add((provider, event_id))
        return True


class FakeUnitOfWork:
    """Works on a copy of the tables; `commit()` puts the copy back, leaving without it forgets it."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def __aenter__(self) -> Self:
        self.t = copying.deepcopy(self.store.tables)
        self.packets = FakePackets(self.t)
        self.subscriptions = FakeSubscriptions(self.t)
        self.webhooks = FakeWebhookDeliveries(self.t)
        self.deliveries = FakeDeliveries(self.t)
        self.copies = FakeCopies(self.t)
        self.attempts = FakeAttempts(self.t)
        self.callbacks = FakeCallbacks(self.t)
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        return None

    async def commit(self) -> None:
        self.store.tables = self.t
        self.store.commits += 1

    async def emit(self, message: Message) -> None:
        self.t.outbox.append(message)

    async def record_inbox(self, key: str, message: Message) -> bool:
        if (key, message.message_id) in self.t.inbox:
            return False
        self.t.inbox.add((key, message.message_id))
        return True


@dataclass
class Store:
    tables: Tables = field(default_factory=Tables)
    commits: int = 0

    def uow(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)


class FakeIntake:
    def __init__(self) -> None:
        self.packets: dict[str, dict[str, Any]] = {}
        self.reads = 0

    async def packet(self, packet_id: uuid.UUID) -> dict[str, Any]:
        self.reads += 1
        return self.packets[str(packet_id)]


class FakeLetters:
    def __init__(self) -> None:
        self.sets: dict[str, dict[str, Any]] = {}
        self.notices: dict[str, dict[str, Any]] = {}

    async def letter_set(self, packet_id: uuid.UUID, kind: str = "decision") -> dict[str, Any]:
        sets = self.notices if kind == "notice" else self.sets
        if str(packet_id) not in sets:
            raise LookupError("404")
        return sets[str(packet_id)]

    async def pdf(self, letter_id: str) -> bytes:
        return PDF


class FakeReceiver:
    """A partner's webhook endpoint: answers from `answers` in turn (then 204), keeps what it got."""

    def __init__(self, answers: list[int | None] | None = None) -> None:
        self.answers = list(answers or [])
        self.got: list[dict[str, Any]] = []

    async def send(self, url: str, secret: str, event_id: str, kind: str, body: str) -> Sent:
        status = self.answers.pop(0) if self.answers else 204
        if status is None:
            return Sent(None, None, "ConnectError", 1)
        self.got.append({"url": url, "secret": secret, "event_id": event_id, "kind": kind, "body": body})
        return Sent(status, "", None, 1)


class FakeProvider:
    """A fax/mail/esMD/email provider: answers from `answers` in turn (then accepted), remembers by reference.
    `confirms`: whether its answer is the channel's confirmation (esMD, SMTP) or a callback comes later."""

    def __init__(self, confirms: bool = False, answers: list[Outcome] | None = None) -> None:
        self.confirms, self.answers = confirms, list(answers or [])
        self.sent: list[Send] = []
        self.known: dict[str, Outcome] = {}
        self.raise_on_send = False

    async def send(self, request: Send) -> Outcome:
        if self.raise_on_send:
            raise ConnectionError("provider down")
        self.sent.append(request)
        outcome = self.answers.pop(0) if self.answers else Outcome(True, f"p-{len(self.sent)}", self.confirms, 201)
        if outcome.accepted:
            self.known[request.reference] = outcome
        return outcome

    async def lookup(self, reference: str) -> Outcome | None:
        return self.known.get(reference)

    def deliver(self, reference: str) -> None:
        """The provider's own later status: delivered (what a poll then sees)."""
        self.known[reference] = replace(self.known[reference], confirmed=True)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class World:
    ctx: Outbound
    store: Store
    intake: FakeIntake
    letters: FakeLetters
    receiver: FakeReceiver
    providers: dict[str, FakeProvider]
    clock: Clock

    @property
    def t(self) -> Tables:
        return self.store.tables


def world(schedule: Schedule | None = None) -> World:
    """Outbound's use cases over fakes, composed by its own bootstrap."""
    store, intake, letters, receiver, clock = Store(), FakeIntake(), FakeLetters(), FakeReceiver(), Clock()
    providers = {
        "fax": FakeProvider(),
        "mail": FakeProvider(),
        "esmd": FakeProvider(confirms=True),
        "email": FakeProvider(confirms=True),
    }
    ctx = bootstrap(
        Settings(env="test"),
        None,
        uow=store.uow,  # type: ignore[arg-type]
        intake=intake,
        letters=letters,
        webhooks=receiver,
        channels=providers,  # type: ignore[arg-type]
        clock=clock,
    )
    quick = schedule or Schedule((10.0, 60.0), budget_seconds=600)
    ctx.schedules = {c: quick for c in ("webhook", "fax", "mail", "esmd", "email")}
    return World(ctx, store, intake, letters, receiver, providers, clock)
