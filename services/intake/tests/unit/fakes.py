"""In-memory implementations of intake's ports (usecases/ports.py), for use-case tests that run in milliseconds.

`FakeDatabase` holds what intake's tables would; a `FakeUnitOfWork` works on a copy of it and puts the copy
back only on `commit()`, so a use case that fails leaves nothing half-written, as with PostgreSQL.
"""

from __future__ import annotations

import copy
import io
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace, TracebackType
from typing import IO, Any, Self

from wiser_contracts.messages import Message
from wiser_intake.bootstrap import bootstrap
from wiser_intake.config import Settings
from wiser_intake.domain.dismissal import DismissalReason
from wiser_intake.domain.packet import PacketIn
from wiser_intake.usecases.context import Intake
from wiser_intake.usecases.errors import Unavailable


@dataclass
class Tables:
    packets: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    lines: dict[uuid.UUID, list[dict[str, Any]]] = field(default_factory=dict)
    diagnoses: dict[uuid.UUID, list[str]] = field(default_factory=dict)
    documents: list[dict[str, Any]] = field(default_factory=list)
    transitions: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[dict[str, Any]] = field(default_factory=list)
    corrections: list[dict[str, Any]] = field(default_factory=list)
    idempotency: dict[tuple[str, str], tuple[str, uuid.UUID]] = field(default_factory=dict)
    webhooks: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[Message] = field(default_factory=list)
    inbox: set[tuple[str, uuid.UUID]] = field(default_factory=set)
    tracking: int = 0


class FakeDatabase:
    def __init__(self) -> None:
        self.tables = Tables()
        self.commits = 0
        self.fail_next_commit: BaseException | None = None

    def packet(self, packet_id: uuid.UUID | str) -> dict[str, Any]:
        return self.tables.packets[uuid.UUID(str(packet_id))]

    def emitted(self, kind: type[Message] | None = None) -> list[Message]:
        return [msg for msg in self.tables.outbox if kind is None or isinstance(msg, kind)]


def _row(values: Mapping[str, Any]) -> SimpleNamespace:
    return SimpleNamespace(**copy.deepcopy(dict(values)))


def _columns(p: PacketIn) -> dict[str, Any]:
    data = p.model_dump(mode="json")
    return {
        "external_ref": p.external_ref,
        "submission_type": p.submission_type,
        "previous_utn": p.previous_utn,
        "review_type": p.review_type,
        "expedited_reason": p.expedited_reason,
        "state_of_service": p.state,
        "place_of_service": p.place_of_service,
        "type_of_bill": p.type_of_bill,
        "beneficiary": data["beneficiary"],
        "practitioner": data["practitioner"],
        "facility": data["facility"],
        "requester": data["requester"],
    }


class FakePackets:
    def __init__(self, t: Tables) -> None:
        self.t = t

    async def add(self, packet_id: uuid.UUID, packet: PacketIn, values: Mapping[str, Any]) -> str:
        self.t.tracking += 1
        tracking = f"WSR-{values['received_at']:%Y}-{self.t.tracking:08d}"
        self.t.packets[packet_id] = {
            "id": packet_id,
            "tracking_number": tracking,
            "determination": None,
            "dismissal": None,
            "utn": None,
            "closure_reason": None,
            "letters": [],
            "sla_breached_at": None,
            **_columns(packet),
            **values,
        }
        self._write_lines(packet_id, packet)
        return tracking

    def _write_lines(self, packet_id: uuid.UUID, p: PacketIn) -> None:
        self.t.lines[packet_id] = [
            {
                "packet_id": packet_id,
                "line_no": i + 1,
                "code": s.code,
                "units": s.units,
                "modifiers": list(s.modifiers),
                "date_of_service": s.date_of_service,
            }
            for i, s in enumerate(p.services)
        ]
        self.t.diagnoses[packet_id] = list(p.diagnosis_codes)

    async def get(self, packet_id: uuid.UUID) -> Any:
        found = self.t.packets.get(packet_id)
        return _row(found) if found else None

    async def lock(self, packet_id: uuid.UUID, owner: str | None = None) -> Any:
        found = self.t.packets.get(packet_id)
        if found is None or (owner is not None and found["partner_client_id"] != owner):
            return None
        return _row(found)

    async def update(self, packet_id: uuid.UUID, values: Mapping[str, Any]) -> None:
        if packet_id in self.t.packets:
            self.t.packets[packet_id].update(copy.deepcopy(dict(values)))

    async def rewrite(self, packet_id: uuid.UUID, packet: PacketIn) -> None:
        columns = _columns(packet)
        for kept in ("external_ref", "submission_type", "review_type"):
            columns.pop(kept)
        await self.update(packet_id, columns)
        self._write_lines(packet_id, packet)

    async def lines(self, packet_id: uuid.UUID) -> Sequence[Any]:
        return [_row(ln) for ln in self.t.lines.get(packet_id, [])]

    async def diagnoses(self, packet_id: uuid.UUID) -> list[str]:
        return list(self.t.diagnoses.get(packet_id, []))

    async def add_letter(self, packet_id: uuid.UUID, entry: Mapping[str, Any]) -> None:
        letters = self.t.packets[packet_id]["letters"]
        letters[:] = [e for e in letters if e.get("letter_id") != entry.get("letter_id")] + [dict(entry)]

    async def stuck_in_received(self, before: datetime, limit: int) -> list[uuid.UUID]:
        found = [p["id"] for p in self.t.packets.values() if p["state"] == "received" and p["received_at"] < before]
        return found[:limit]

    async def in_state(self, state: str) -> Sequence[Any]:
        return [_row(p) for p in self.t.packets.values() if p["state"] == state]

    async def lock_overdue(self, at: datetime, states: Sequence[str], limit: int) -> Sequence[Any]:
        due = [
            _row(p)
            for p in self.t.packets.values()
            if p["due_at"] < at and p["sla_breached_at"] is None and p["state"] in states
        ]
        return due[:limit]


class FakeHistory:
    def __init__(self, t: Tables) -> None:
        self.t = t

    async def add_transition(self, values: Mapping[str, Any]) -> None:
        self.t.transitions.append(dict(values))

    async def add_rejection(self, values: Mapping[str, Any]) -> None:
        self.t.rejections.append(dict(values))

    async def last_into(self, packet_id: uuid.UUID, state: str) -> Any:
        found = [
            t for t in self.t.transitions
            if t["packet_id"] == packet_id and t["to_state"] == state and t["from_state"] != t["to_state"]
        ]  # fmt: skip
        return _row(found[-1]) if found else None

    async def add_corrections(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self.t.corrections.extend(copy.deepcopy([dict(r) for r in rows]))


class FakeDocuments:
    def __init__(self, t: Tables) -> None:
        self.t = t

    async def count(self, packet_id: uuid.UUID) -> int:
        return sum(1 for d in self.t.documents if d["packet_id"] == packet_id)

    async def add(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self.t.documents.extend(dict(r) for r in rows)

    async def known_keys(self, keys: Sequence[str]) -> set[str]:
        return {d["s3_key"] for d in self.t.documents} & set(keys)


class FakeIdempotencyKeys:
    def __init__(self, t: Tables) -> None:
        self.t = t

    async def find(self, client_id: str, key: str) -> tuple[str, uuid.UUID] | None:
        return self.t.idempotency.get((client_id, key))

    async def add(self, client_id: str, key: str, request_hash: str, packet_id: uuid.UUID) -> bool:
        if (client_id, key) in self.t.idempotency:
            return False
        self.t.idempotency[(client_id, key)] = (request_hash, packet_id)
        return True


class FakeWebhooks:
    def __init__(self, t: Tables) -> None:
        self.t = t

    async def add(self, values: Mapping[str, Any]) -> bool:
        if any(w["client_id"] == values["client_id"] and w["url"] == values["url"] for w in self._live()):
            return False
        self.t.webhooks.append({"created_at": datetime.now(UTC), "deleted_at": None, **values})
        return True

    def _live(self) -> list[dict[str, Any]]:
        return [w for w in self.t.webhooks if w["deleted_at"] is None]

    async def live(self, client_id: str) -> Sequence[Any]:
        return [_row(w) for w in self._live() if w["client_id"] == client_id]

    async def get(self, client_id: str, webhook_id: uuid.UUID) -> Any:
        found = [w for w in self._live() if w["client_id"] == client_id and w["id"] == webhook_id]
        return _row(found[0]) if found else None

    async def remove(self, client_id: str, webhook_id: uuid.UUID, at: datetime) -> bool:
        for w in self._live():
            if w["client_id"] == client_id and w["id"] == webhook_id:
                w["deleted_at"] = at
                return True
        return False


class FakeUnitOfWork:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def _bind(self, t: Tables) -> None:
        self.t = t
        self.packets = FakePackets(t)
        self.history = FakeHistory(t)
        self.documents = FakeDocuments(t)
        self.idempotency = FakeIdempotencyKeys(t)
        self.webhooks = FakeWebhooks(t)

    async def __aenter__(self) -> Self:
        self._bind(copy.deepcopy(self.db.tables))
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None  # whatever was not committed is dropped with self.t

    async def commit(self) -> None:
        if self.db.fail_next_commit is not None:
            error, self.db.fail_next_commit = self.db.fail_next_commit, None
            raise error
        self.db.tables = self.t
        self.db.commits += 1
        self._bind(copy.deepcopy(self.t))  # later writes in this block need another commit

    async def rollback(self) -> None:
        self._bind(copy.deepcopy(self.db.tables))

    async def emit(self, message: Message) -> None:
        self.t.outbox.append(message)

    async def record_inbox(self, key: str, message: Message) -> bool:
        if (key, message.message_id) in self.t.inbox:
            return False
        self.t.inbox.add((key, message.message_id))
        return True


class FakeStorage:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.fail_puts = False

    async def put(self, key: str, fileobj: IO[bytes], content_type: str, sha256_hex: str) -> None:
        if self.fail_puts:
            raise OSError("storage is down")
        self.objects[key] = fileobj.read()

    async def get(self, key: str) -> bytes:
        if key not in self.objects:
            raise LookupError(key)
        return self.objects[key]

    async def open(self, key: str, chunk: int = 256 * 1024) -> tuple[AsyncIterator[bytes], int]:
        data = await self.get(key)

        async def chunks() -> AsyncIterator[bytes]:
            for i in range(0, len(data), chunk):
                yield data[i : i + chunk]

        return chunks(), len(data)

    async def older_than(self, prefix: str, before: datetime) -> list[str]:
        return [k for k in self.objects if k.startswith(prefix)]  # a fake's objects have no age: all are old

    async def delete(self, keys: list[str]) -> None:
        for key in keys:
            self.objects.pop(key, None)


# The texts here are a test's own, so a test can tell they came from the reference and not from elsewhere.
REASONS = {
    "INVALID_BENEFICIARY": DismissalReason("INVALID_BENEFICIARY", "MBI invalid (test list)", "Resubmit (test list)"),
    "WRONG_JURISDICTION": DismissalReason("WRONG_JURISDICTION", "Wrong MAC (test list)", "Send it right (test list)"),
}


class FakeReference:
    def __init__(self, reasons: Mapping[str, DismissalReason] = REASONS) -> None:
        self.reasons = dict(reasons)
        self.reachable = True

    async def in_force(self) -> Mapping[str, DismissalReason]:
        if not self.reachable:
            raise Unavailable("REFERENCE_UNAVAILABLE", "unreachable (test)")
        return dict(self.reasons)


class FakeClock:
    def __init__(self, at: datetime = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


def _no_sessions() -> Any:
    raise AssertionError("a use-case unit test reads and writes through the unit of work only")


@dataclass
class World:
    ctx: Intake
    db: FakeDatabase
    store: FakeStorage
    reference: FakeReference
    clock: FakeClock


def world() -> World:
    """Intake's use cases composed by its own bootstrap, with every port in memory."""
    db, store, reference, clock = FakeDatabase(), FakeStorage(), FakeReference(), FakeClock()
    ctx = bootstrap(
        Settings(env="test"),
        _no_sessions,  # type: ignore[arg-type]
        uow=lambda: FakeUnitOfWork(db),
        store=store,
        reference=reference,
        clock=clock,
    )
    return World(ctx, db, store, reference, clock)


def pdf(text: str = "note") -> IO[bytes]:
    return io.BytesIO(b"%PDF-1.4\n" + text.encode() + b"\n%%EOF\n")
