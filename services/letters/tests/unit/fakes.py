"""In-memory fakes of letters' ports: its unit of work and repository, the peers' ports, the object store."""

from __future__ import annotations

import copy
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from samples import CONTACT, PTP

from wiser_contracts import messages as m
from wiser_letters import templates
from wiser_letters.adapters.render import render
from wiser_letters.usecases.context import Letters
from wiser_letters.usecases.ports import (
    ApprovalRecord,
    LetterVersionRecord,
    PacketInfo,
    SetRecord,
    VersionRecord,
    ViewRecord,
)


class State:
    def __init__(self) -> None:
        self.packets: dict[uuid.UUID, PacketInfo] = {}
        self.sets: dict[uuid.UUID, SetRecord] = {}
        self.versions: dict[uuid.UUID, list[VersionRecord]] = {}
        self.approvals: list[ApprovalRecord] = []
        self.views: list[ViewRecord] = []
        self.inbox: set[tuple[uuid.UUID, str]] = set()
        self.outbox: list[m.Message] = []
        t = templates.latest()
        self.templates = {t["version"]: t["texts"]}


class FakeRepo:
    def __init__(self, st: State) -> None:
        self.st = st

    async def get_packet(self, packet_id: uuid.UUID) -> PacketInfo | None:
        p = self.st.packets.get(packet_id)
        return replace(p) if p else None

    async def put_packet(self, info: PacketInfo) -> None:
        self.st.packets[info.packet_id] = replace(info)

    async def get_set(self, set_id: uuid.UUID, *, lock: bool = False) -> SetRecord | None:
        s = self.st.sets.get(set_id)
        return copy.deepcopy(s) if s else None

    async def set_of_letter(self, letter_id: uuid.UUID) -> tuple[SetRecord, str] | None:
        for s in self.st.sets.values():
            for r, lid in s.letters.items():
                if lid == letter_id:
                    return copy.deepcopy(s), r
        return None

    async def put_set(self, s: SetRecord) -> None:
        self.st.sets[s.id] = copy.deepcopy(s)

    async def add_version(self, v: VersionRecord) -> None:
        have = self.st.versions.setdefault(v.set_id, [])
        assert all(x.version != v.version for x in have), "duplicate version"
        have.append(copy.deepcopy(v))

    async def versions(self, set_id: uuid.UUID) -> list[VersionRecord]:
        return copy.deepcopy(self.st.versions.get(set_id, []))

    async def letter_version(self, letter_id: uuid.UUID, version: int) -> LetterVersionRecord | None:
        for vs in self.st.versions.values():
            for v in vs:
                for lv in v.letters:
                    if lv.letter_id == letter_id and lv.version == version:
                        return copy.deepcopy(lv)
        return None

    async def add_approval(self, a: ApprovalRecord) -> None:
        self.st.approvals.append(a)

    async def approvals(self, set_id: uuid.UUID) -> list[ApprovalRecord]:
        return [a for a in self.st.approvals if a.set_id == set_id]

    async def add_view(self, v: ViewRecord) -> None:
        self.st.views.append(v)

    async def template(self, version: str | None = None) -> tuple[str, dict[str, str]]:
        v = version or max(self.st.templates)
        return v, dict(self.st.templates[v])

    async def list_sets(self, statuses: tuple[str, ...], limit: int) -> list[SetRecord]:
        found = [s for s in self.st.sets.values() if s.status in statuses]
        far = datetime.max.replace(tzinfo=UTC)
        return sorted(found, key=lambda s: s.due_at or far)[:limit]

    async def waiting_for_utn(self, limit: int) -> list[uuid.UUID]:
        drafted = {s.packet_id for s in self.st.sets.values() if s.kind != "reclassification_notice"}
        return [
            p.packet_id
            for p in self.st.packets.values()
            if p.state == "determined"
            and p.outcome not in (None, "dismissed")
            and not p.utn
            and p.packet_id not in drafted
        ][:limit]

    async def sets_of_packet(self, packet_id: uuid.UUID) -> list[SetRecord]:
        return [copy.deepcopy(s) for s in self.st.sets.values() if s.packet_id == packet_id]


class FakeUow:
    """Changes are staged on a copy and land only on commit, like a transaction."""

    def __init__(self, st: State) -> None:
        self.base = st

    async def __aenter__(self) -> FakeUow:
        self.st = copy.deepcopy(self.base)
        self.repo = FakeRepo(self.st)
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def seen(self, message_id: uuid.UUID, handler: str) -> bool:
        if (message_id, handler) in self.st.inbox:
            return False
        self.st.inbox.add((message_id, handler))
        return True

    async def emit(self, message: m.Message) -> None:
        self.st.outbox.append(message)

    async def commit(self) -> None:
        self.base.__dict__.update(self.st.__dict__)


class FakeIntake:
    def __init__(self) -> None:
        self.packets: dict[uuid.UUID, dict[str, Any]] = {}

    async def packet(self, packet_id: uuid.UUID) -> dict[str, Any]:
        return copy.deepcopy(self.packets[packet_id])


class FakeClinical:
    def __init__(self) -> None:
        self.determinations: dict[uuid.UUID, dict[str, Any]] = {}

    async def determination(self, packet_id: uuid.UUID) -> dict[str, Any] | None:
        d = self.determinations.get(packet_id)
        return copy.deepcopy(d) if d else None


class FakeReference:
    async def dismissal_reasons(self) -> dict[str, dict[str, str]]:
        return {
            "INVALID_BILLING_INFO": {
                "reason": "PTAN, NPI or type of bill invalid or missing",
                "corrective_action": "Verify and resubmit",
            }
        }

    async def descriptions(self) -> dict[str, str]:
        return {"64581": "Sacral nerve stimulation", "64590": "Sacral nerve stimulation"}


class FakeStore:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    async def put(self, key: str, data: bytes, sha256_hex: str) -> None:
        self.objects[key] = data

    async def get(self, key: str) -> bytes:
        if key not in self.objects:
            raise LookupError(key)  # as the S3 adapter says NoSuchKey
        return self.objects[key]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def make_ctx(auto_approve: bool = False) -> tuple[Letters, State, FakeIntake, FakeClinical, FakeStore]:
    st, intake, clinical, store = State(), FakeIntake(), FakeClinical(), FakeStore()
    ctx = Letters(
        uow=lambda: FakeUow(st),  # type: ignore[arg-type,return-value]
        intake=intake,
        clinical=clinical,
        reference=FakeReference(),
        store=store,
        render=render,
        clock=Clock(),
        contact=CONTACT,
        auto_approve_affirmations=auto_approve,
        default_peer_to_peer=PTP,
    )
    return ctx, st, intake, clinical, store
