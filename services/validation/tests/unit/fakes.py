"""In-memory implementations of validation's ports (usecases/ports.py): its tables, intake's facts view, the
peers and the reference data, for use-case tests that run in milliseconds.

A `FakeUnitOfWork` works on a copy of `FakeDatabase` and puts it back only on `commit()`.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from types import SimpleNamespace, TracebackType
from typing import Any, Self

from wiser_contracts.messages import Message
from wiser_validation.bootstrap import bootstrap
from wiser_validation.config import Settings
from wiser_validation.domain import Eligibility, Enrollment, NpiRecord, PacketFacts
from wiser_validation.reference import ReferenceSet, load_reference
from wiser_validation.usecases.ports import PeerUnavailable
from wiser_validation.usecases.validate import Validation


@dataclass
class Tables:
    seen: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[Message] = field(default_factory=list)
    inbox: set[tuple[str, uuid.UUID]] = field(default_factory=set)


class FakeDatabase:
    def __init__(self) -> None:
        self.tables = Tables()

    def emitted(self) -> list[Message]:
        return list(self.tables.outbox)


class FakePacketsSeen:
    """Matches by the MBI itself where the table matches by its blind index: the same equality."""

    def __init__(self, t: Tables) -> None:
        self.t = t

    async def remember(self, facts: PacketFacts, received_at: datetime, service_ids: Sequence[str]) -> None:
        pid = uuid.UUID(str(facts.packet_id))
        before = self.t.seen.get(pid, {"open": True, "utn": None})
        self.t.seen[pid] = {
            **before,
            "packet_id": pid,
            "practitioner_npi": facts.practitioner.npi,
            "mbi": facts.beneficiary.mbi,
            "service_ids": list(service_ids),
            "received_at": received_at,
            "identity": {
                "first_name": facts.beneficiary.first_name,
                "last_name": facts.beneficiary.last_name,
                "date_of_birth": facts.beneficiary.date_of_birth.isoformat(),
            },
        }

    async def hold_pair(self, practitioner_npi: str, mbi: str) -> None:
        return None  # one test, one task: nothing to wait for

    async def open_before(self, facts: PacketFacts, received_at: datetime) -> Sequence[Any]:
        pid = uuid.UUID(str(facts.packet_id))
        return [
            SimpleNamespace(**r)
            for r in self.t.seen.values()
            if r["practitioner_npi"] == facts.practitioner.npi
            and r["mbi"] == facts.beneficiary.mbi
            and r["open"]
            and r["packet_id"] != pid
            and (r["received_at"], r["packet_id"]) < (received_at, pid)
        ]

    async def with_utn(self, utn: str) -> Sequence[Any]:
        return [SimpleNamespace(**r) for r in self.t.seen.values() if r["utn"] == utn]

    async def close(self, packet_id: uuid.UUID) -> None:
        if packet_id in self.t.seen:
            self.t.seen[packet_id]["open"] = False

    async def set_utn(self, packet_id: uuid.UUID, utn: str) -> None:
        if packet_id in self.t.seen:
            self.t.seen[packet_id]["utn"] = utn


class FakeRuns:
    def __init__(self, t: Tables) -> None:
        self.t = t

    async def exists(self, packet_id: uuid.UUID, run: int) -> bool:
        return any(r["packet_id"] == packet_id and r["run"] == run for r in self.t.runs)

    async def add(self, values: Mapping[str, Any], findings: Sequence[Mapping[str, Any]]) -> None:
        run_id = len(self.t.runs) + 1
        self.t.runs.append({"id": run_id, **values})
        self.t.findings.extend({"run_id": run_id, **f} for f in findings)


class FakeUnitOfWork:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def _bind(self, t: Tables) -> None:
        self.t, self.seen, self.runs = t, FakePacketsSeen(t), FakeRuns(t)

    async def __aenter__(self) -> Self:
        self._bind(copy.deepcopy(self.db.tables))
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    async def commit(self) -> None:
        self.db.tables = self.t
        self._bind(copy.deepcopy(self.t))

    async def rollback(self) -> None:
        self._bind(copy.deepcopy(self.db.tables))

    async def emit(self, message: Message) -> None:
        self.t.outbox.append(message)

    async def record_inbox(self, key: str, message: Message) -> bool:
        if (key, message.message_id) in self.t.inbox:
            return False
        self.t.inbox.add((key, message.message_id))
        return True


class FakeIntake:
    """Intake's facts view of the packets it holds (`view=facts`)."""

    def __init__(self) -> None:
        self.packets: dict[uuid.UUID, dict[str, Any]] = {}

    async def packet(self, packet_id: uuid.UUID) -> dict[str, Any]:
        return copy.deepcopy(self.packets[packet_id])


class FakeHets:
    def __init__(self) -> None:
        self.answers: dict[str, Eligibility] = {}  # by MBI
        self.down = False

    async def eligibility(self, facts: PacketFacts, dos: date) -> Eligibility:
        if self.down:
            raise PeerUnavailable("hets: no answer (test)")
        return self.answers.get(facts.beneficiary.mbi, Eligibility(status="not_found"))


class FakeNppes:
    def __init__(self) -> None:
        self.records: dict[str, NpiRecord] = {}

    async def lookup(self, npi: str) -> NpiRecord:
        return self.records.get(npi, NpiRecord(npi=npi, status="not_found"))


class FakePecos:
    def __init__(self) -> None:
        self.records: dict[str, Enrollment] = {}

    async def enrollment(self, npi: str) -> Enrollment:
        return self.records.get(npi, Enrollment(npi=npi, status="not_found"))


@dataclass
class FakePeers:
    hets: FakeHets = field(default_factory=FakeHets)
    nppes: FakeNppes = field(default_factory=FakeNppes)
    pecos: FakePecos = field(default_factory=FakePecos)


class FileReference:
    """The packaged reference files, as validation loads them."""

    async def in_force(self, on: date) -> ReferenceSet:
        return load_reference(on)


@dataclass
class World:
    v: Validation
    db: FakeDatabase
    intake: FakeIntake
    peers: FakePeers


def world(today: date, now: datetime | None = None) -> World:
    """Validation's use cases composed by its own bootstrap, with every port in memory."""
    db, intake, peers = FakeDatabase(), FakeIntake(), FakePeers()
    at = now or datetime(today.year, today.month, today.day, 15, tzinfo=UTC)
    v = bootstrap(
        Settings(env="test"),
        uow=lambda: FakeUnitOfWork(db),
        intake=intake,
        peers=peers,
        reference=FileReference(),
        now=lambda: at,
    )
    return World(v, db, intake, peers)
