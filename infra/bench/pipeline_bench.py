"""`make bench` (fourth part): submit → validation outcome, with CPU per packet, on a running `make run`.

Submits a realistic mix built from ../shared/fixtures (mostly clean packets with
a PDF, some that need correction, some dismissed) through the partner API and
prints, with the machine it ran on:

1. CPU-ms per packet for every process group `make run` started (found as the
   process tree of infra/local/run.py: intake with its uvicorn workers,
   validation, gateway, sandbox peers, moto), PostgreSQL (backends of database
   `wiser` per role, apart from the shared server processes) and RabbitMQ
   (beam.smp and its children), from utime+stime in /proc/<pid>/stat sampled
   every 0.5 s through each run, plus the same per second with no load first.
   The load generator and other databases' backends are not counted (printed
   on their own lines, with the rest of the machine's busy time).
2. The share of each validation outcome actually observed.
3. Submit → leaves `validating` p50/p95/p99/max at fixed rates (open loop: sends
   are scheduled by the clock), plus submit HTTP latency and the achieved rate.
   Leaving `validating` is read from the bus (a temporary exclusive queue on
   `wiser.events`, `intake.packet.transitioned[.#]`), never by polling: the
   time is the event's `occurred_at` minus the scheduled send time.
4. The drain rate of a burst (bounded concurrency, as fast as intake accepts).

The fixtures hold a few dozen beneficiary/practitioner pairs, and a request
stays open until clinical review decides it, so clean packets would soon be
dismissed as DUPLICATE_REQUEST against the earlier ones (a run of 2,400 at 20/s
once came out 43 % dismissed instead of 8 %). So the bench first teaches the
sandbox's HETS `--people` synthetic beneficiaries (`POST /_sandbox/beneficiaries`,
the same every run, never a fixture) and builds its clean packets from those
and the fixtures: tens of thousands of distinct practitioner/beneficiary/
service combinations, so every packet of a run is its own request. It also
marks every open request in validation's `packets_seen` as closed once a second
(`--no-recycle` turns that off).

Talks only to 127.0.0.1; every run is bounded in count and time. Figures, not
assertions. Options: `--help`; `--quick` is a 15 s smoke run; `--profile DIR`
runs py-spy (when installed in the venv) on intake and validation during the
highest rate and prints their hottest frames.
Environment: WISER_INTAKE_URL, WISER_BENCH_DSN (as the other bench scripts),
WISER_BENCH_AMQP_URL (amqp://guest:guest@127.0.0.1:5672/wiser, make run's vhost),
WISER_SANDBOX_URL (http://127.0.0.1:8009).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import json
import math
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aio_pika
import aiohttp
import asyncpg
from list_bench import DSN
from submit_bench import FIXTURES, INTAKE, ROOT, packet, token
from validation_bench import PDF

VHOST = os.environ.get("WISER_BROKER_VHOST", "wiser")  # make run's own vhost
AMQP_URL = os.environ.get("WISER_BENCH_AMQP_URL", f"amqp://guest:guest@127.0.0.1:5672/{VHOST}")
DB_NAME = urlsplit(DSN).path.lstrip("/") or "wiser"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
TICK_MS = 1000.0 / os.sysconf("SC_CLK_TCK")
# Bound both routing keys: `intake.packet.transitioned` today, `…transitioned.<to_state>` soon.
TRANSITION_KEYS = ("intake.packet.transitioned", "intake.packet.transitioned.#")
VALIDATED_KEY = "validation.packet.validated"
OUTCOME_OF_STATE = {"clinical_queue": "passed", "manual_review": "needs_correction", "determined": "dismiss"}
OUTCOMES = ("passed", "needs_correction", "dismiss")
# One code per Appendix A service with a diagnosis that keeps it in scope (DOMAIN.md; skin substitutes
# are left out because they are not under WISeR in JF).
SERVICES = (
    ("29877", "M17.11"),
    ("64610", "G50.0"),
    ("64568", "G40.011"),
    ("33276", "G47.31"),
    ("63655", "G89.29"),
    ("53445", "N39.3"),
    ("64581", "N39.41"),
    ("54405", "N52.9"),
    ("22513", "M48.50XA"),
    ("64483", "M54.16"),
    ("22554", "M50.12"),
    ("64582", "G47.33"),
)
REFERENCE = ROOT / "services" / "validation" / "src" / "wiser_validation" / "reference"
SANDBOX = os.environ.get("WISER_SANDBOX_URL", "http://127.0.0.1:8009")
MBI_LETTERS = "ACDEFGHJKMNPQRTUVWXY"  # DOMAIN.md: no S, L, O, I, B, Z
SYLLABLES = ("ba", "cor", "den", "fal", "gri", "hol", "jun", "kes", "lor", "mav", "nor", "pel", "quin", "ros", "tal")


def synthetic_people(count: int, taken: set[str]) -> list[dict[str, Any]]:
    """`count` eligible synthetic beneficiaries, the same every run (seeded), none sharing a fixture's MBI."""
    rng = random.Random(7_2026)
    alnum = MBI_LETTERS + "0123456789"
    people: list[dict[str, Any]] = []
    while len(people) < count:
        mbi = "".join(
            rng.choice(chars)
            for chars in ("123456789", MBI_LETTERS, alnum, "0123456789", MBI_LETTERS, alnum, "0123456789",
                          MBI_LETTERS, MBI_LETTERS, "0123456789", "0123456789")
        )  # fmt: skip
        if mbi in taken:
            continue
        taken.add(mbi)
        first = "".join(rng.choice(SYLLABLES) for _ in range(2)).capitalize()
        last = "".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize()
        born = date(1935, 1, 1) + timedelta(days=rng.randrange(365 * 25))
        entitled = date(born.year + 65, born.month, 1).isoformat()
        people.append(
            {"mbi": mbi, "first_name": first, "last_name": last, "date_of_birth": born.isoformat(),
             "gender": rng.choice("FM"), "state": rng.choice(("NJ", "OH", "OK", "TX", "AZ", "WA")),
             "status": "eligible", "part_a_effective": entitled, "part_b_effective": entitled}
        )  # fmt: skip
    return people


async def teach_sandbox(people: list[dict[str, Any]]) -> None:
    if not people:
        return
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{SANDBOX}/_sandbox/beneficiaries", json={"beneficiaries": people}) as r:
            if r.status != 200:
                raise SystemExit(f"the sandbox refused the bench's people: {r.status} {await r.text()}")


# ------------------------------------------------------------------------------------- the mix


@dataclass
class Item:
    kind: str  # the outcome we expect: passed, needs_correction, dismiss
    variant: str
    body: dict[str, Any]
    document: bool


class Mix:
    """Packets built from the fixtures; `item(i)` is deterministic, so every run submits the same sequence."""

    def __init__(self, shares: tuple[int, int, int], people: int = 0) -> None:
        bens = json.loads((FIXTURES / "beneficiaries.json").read_text())["beneficiaries"]
        self.people = synthetic_people(people, {b["mbi"] for b in bens})
        prov = json.loads((FIXTURES / "providers.json").read_text())
        self.template = packet()  # submit_bench's packet: the shape every partner sends
        facilities = {f["state"]: f for f in prov["facilities"]}
        self.facilities = facilities
        eligible = [b for b in bens if b["status"] == "eligible"] + self.people
        # Validation's reference data says which provider types may request (the latest version).
        types = set(json.loads((REFERENCE / "provider_types.json").read_text())["versions"][-1]["eligible"])

        def good(p: dict[str, Any]) -> bool:
            return (
                p["pecos"] == "enrolled"
                and p["nppes"] == "active"
                and not p["gold_card_exempt"]
                and p["provider_type"] in types
                and p["state"] in facilities
            )

        pracs = [p for p in prov["practitioners"] if good(p)]
        rng = random.Random(20260415)
        self.clean = [(b, p, s) for b in eligible for p in pracs for s in SERVICES]
        rng.shuffle(self.clean)
        self.bad_bens = [b for b in bens if b["status"] in ("medicare_advantage", "deceased", "railroad")]
        self.bad_pracs = [p for p in prov["practitioners"] if p["gold_card_exempt"] or p["pecos"] != "enrolled"]
        kinds = ["passed"] * shares[0] + ["needs_correction"] * shares[1] + ["dismiss"] * shares[2]
        rng.shuffle(kinds)
        self.kinds = kinds
        self.shares = {k: v / sum(shares) for k, v in zip(OUTCOMES, shares, strict=True)}
        self.dos = (date.today() + timedelta(days=30)).isoformat()

    def body(self, ben: dict[str, Any], prac: dict[str, Any], service: tuple[str, str]) -> dict[str, Any]:
        body = copy.deepcopy(self.template)
        fac = self.facilities.get(prac["state"]) or next(iter(self.facilities.values()))
        body["external_ref"] = f"BENCH-{os.getpid()}-{time.monotonic_ns():x}"
        body["state"] = fac["state"]
        body["place_of_service"] = fac["place_of_service"]
        body["type_of_bill"] = "131" if fac["place_of_service"] in ("19", "22") else None
        body["beneficiary"].update(
            mbi=ben["mbi"],
            first_name=ben["first_name"],
            last_name=ben["last_name"],
            date_of_birth=ben["date_of_birth"],
            gender=ben["gender"],
        )
        body["practitioner"].update(
            npi=prac["npi"], ptan=prac["ptan"], first_name=prac["first_name"], last_name=prac["last_name"]
        )
        body["facility"] = {"name": fac["name"], "npi": fac["npi"], "ccn": fac["ccn"]}
        body["services"] = [{"code": service[0], "units": 1, "modifiers": [], "date_of_service": self.dos}]
        body["diagnosis_codes"] = [service[1]]
        return body

    def item(self, i: int) -> Item:
        kind = self.kinds[i % len(self.kinds)]
        ben, prac, service = self.clean[i % len(self.clean)]
        if kind == "passed":
            return Item(kind, "clean, 1 PDF", self.body(ben, prac, service), True)
        if kind == "needs_correction":
            if i % 2:
                return Item(kind, "no document", self.body(ben, prac, service), False)
            body = self.body(ben, prac, service)
            body["beneficiary"]["first_name"] = ben["first_name"] + "e"  # HETS: name does not match
            return Item(kind, "misspelt name", body, True)
        # Dismissed: a beneficiary outside Original Medicare, an exempt or unenrolled practitioner, or a
        # code of another CMS program.
        match i % 3:
            case 0:
                bad = self.bad_bens[i % len(self.bad_bens)]
                return Item(kind, f"beneficiary {bad['status']}", self.body(bad, prac, service), True)
            case 1:
                bad = self.bad_pracs[i % len(self.bad_pracs)]
                return Item(kind, "practitioner exempt/unenrolled", self.body(ben, bad, service), True)
            case _:
                return Item(kind, "not a WISeR code", self.body(ben, prac, ("63650", "G89.29")), True)


# ---------------------------------------------------------------------------------- CPU from /proc


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    start: int  # starttime in ticks: with the pid, identifies one process
    cpu: int  # utime + stime, ticks
    children: int  # cutime + cstime (children that exited and were reaped), ticks
    comm: str
    cmdline: str


def read_procs() -> dict[int, Proc]:
    procs: dict[int, Proc] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry.name}/stat").read_bytes()
            cmd = Path(f"/proc/{entry.name}/cmdline").read_bytes()
        except OSError:
            continue
        comm = raw[raw.index(b"(") + 1 : raw.rindex(b")")].decode(errors="replace")
        f = raw[raw.rindex(b")") + 2 :].split()  # f[0] is field 3 (state)
        pid = int(entry.name)
        procs[pid] = Proc(
            pid=pid,
            ppid=int(f[1]),
            start=int(f[19]),
            cpu=int(f[11]) + int(f[12]),
            children=int(f[13]) + int(f[14]),
            comm=comm,
            cmdline=cmd.replace(b"\0", b" ").decode(errors="replace").strip(),
        )
    return procs


def machine_busy_ticks() -> int:
    """Busy ticks of the whole machine (every CPU), from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(values[:8]) - values[3] - values[4]  # minus idle and iowait


def find_run_py() -> int | None:
    """The `make run` of this worktree: infra/local/run.py whose working directory is this repository."""
    for pid, p in read_procs().items():
        if "infra/local/run.py" in p.cmdline:
            with contextlib.suppress(OSError):
                if Path(f"/proc/{pid}/cwd").resolve() == ROOT:
                    return pid
    return None


SERVICE_NAMES = (
    ("wiser_intake", "intake"),
    ("wiser_validation", "validation"),
    ("wiser_gateway", "gateway"),
    ("wiser_clinical", "clinical"),
    ("wiser_letters", "letters"),
    ("wiser_outbound", "outbound"),
    ("wiser_analytics", "analytics"),
    ("wiser_sandbox", "sandbox peers (HETS, NPPES, PECOS)"),
    ("moto_server", "S3 (moto_server)"),
)
PG_BACKEND = re.compile(r"^postgres: (?:\S+: )?(\S+) (\S+) (?:\S+\(\d+\)|\[local\])")
OTHER_DBS = "PostgreSQL, other databases (not counted)"


def groups_of(procs: dict[int, Proc], run_pid: int, me: int) -> dict[int, str]:
    """Process id → group name, for every process we count (and OTHER_DBS for those we only report)."""
    kids: dict[int, list[int]] = {}
    for p in procs.values():
        kids.setdefault(p.ppid, []).append(p.pid)

    def tree(root: int) -> list[int]:
        out, todo = [], [root]
        while todo:
            pid = todo.pop()
            out.append(pid)
            todo.extend(kids.get(pid, ()))
        return out

    groups: dict[int, str] = {}
    if run_pid in procs:
        groups[run_pid] = "run.py (supervisor)"
        for child in kids.get(run_pid, ()):
            cmd = procs[child].cmdline
            name = next((n for key, n in SERVICE_NAMES if key in cmd), Path(cmd.split(" ")[0]).name)
            for pid in tree(child):
                groups[pid] = name
    for p in procs.values():
        if p.comm == "postgres":
            m = PG_BACKEND.match(p.cmdline)
            if m is None:
                groups[p.pid] = "PostgreSQL, shared (postmaster, WAL, checkpointer, autovacuum)"
            elif m.group(2) == DB_NAME:
                groups[p.pid] = f"PostgreSQL, backends of {m.group(1)}@{DB_NAME}"
            else:
                groups[p.pid] = OTHER_DBS
        elif p.comm == "beam.smp":
            for pid in tree(p.pid):
                groups[pid] = "RabbitMQ (beam.smp and children)"
        elif p.comm == "epmd":
            groups[p.pid] = "RabbitMQ (beam.smp and children)"
    groups.pop(me, None)
    return groups


PG_CHURN = "PostgreSQL, short-lived backends (any database)"


class CpuWindow:
    """utime+stime per group over a window, from /proc sampled every `interval` s while it is open.

    A process that exits in the window counts with what it had used when last seen; what PostgreSQL's
    short-lived backends used beyond that (the postmaster's cutime+cstime) is reported on its own line,
    since it cannot be told apart by database.
    """

    def __init__(self, run_pid: int, interval: float = 0.5) -> None:
        self.run_pid = run_pid
        self.interval = interval
        self.base: dict[tuple[int, int], int] = {}  # (pid, start) → CPU ticks when the window opened (0 if new)
        self.last: dict[tuple[int, int], tuple[Proc, str]] = {}
        self.backends: dict[tuple[int, int], str] = {}  # backends of our database seen in the window → role
        self._task: asyncio.Task[None] | None = None

    def _sample(self, first: bool = False) -> None:
        procs = read_procs()
        for pid, group in groups_of(procs, self.run_pid, os.getpid()).items():
            p = procs[pid]
            key = (pid, p.start)
            if key not in self.base:
                self.base[key] = p.cpu if first else 0
            self.last[key] = (p, group)
            if group.startswith("PostgreSQL, backends of"):
                self.backends[key] = group.rsplit(" ", 1)[1].split("@")[0]
        self.at = time.perf_counter()

    async def __aenter__(self) -> CpuWindow:
        t = os.times()
        self.own0, self.busy0, self.at0 = t.user + t.system, machine_busy_ticks(), time.perf_counter()
        self._sample(first=True)
        self.postmaster0 = {
            k: p.children
            for k, (p, _) in self.last.items()
            if p.comm == "postgres" and not p.cmdline.startswith("postgres:")
        }
        self.backends_at_start = set(self.backends)

        async def loop() -> None:
            while True:
                await asyncio.sleep(self.interval)
                self._sample()

        self._task = asyncio.create_task(loop())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._sample()
        t = os.times()
        self.own_ms = (t.user + t.system - self.own0) * 1000
        self.busy_ms = (machine_busy_ticks() - self.busy0) * TICK_MS
        self.window = self.at - self.at0

    def per_group(self) -> dict[str, float]:
        out: dict[str, float] = {}
        live = {(pid, p.start) for pid, p in read_procs().items()}
        seen_exited = 0
        for key, (p, group) in self.last.items():
            out[group] = out.get(group, 0.0) + (p.cpu - self.base[key]) * TICK_MS
            if key not in live and p.comm == "postgres":
                seen_exited += p.cpu
        reaped = sum(self.last[k][0].children - c for k, c in self.postmaster0.items() if k in self.last)
        out[PG_CHURN] = max(0, reaped - seen_exited) * TICK_MS
        return out

    def connections_opened(self) -> Counter[str]:
        return Counter(role for key, role in self.backends.items() if key not in self.backends_at_start)


# ------------------------------------------------------------------------------- the bus and DB


@dataclass
class Left:
    occurred: float  # wall clock (epoch s) when intake made the transition
    seen: float  # perf_counter when the bench read it
    to_state: str


class Bus:
    """A temporary exclusive queue on wiser.events: when each packet left `validating`, and with which codes."""

    def __init__(self) -> None:
        self.left: dict[str, Left] = {}
        self.codes: dict[str, list[str]] = {}
        self.changed = asyncio.Event()
        self._connection: aio_pika.abc.AbstractConnection | None = None

    async def start(self) -> None:
        self._connection = await aio_pika.connect(AMQP_URL, timeout=10)
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=2000)
        events = await channel.get_exchange("wiser.events", ensure=True)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        for key in (*TRANSITION_KEYS, VALIDATED_KEY):
            await queue.bind(events, routing_key=key)
        await queue.consume(self._on_message, no_ack=True)

    async def _on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        body = json.loads(message.body)
        pid = str(body.get("packet_id"))
        if (message.routing_key or "").startswith(VALIDATED_KEY):
            found = [f["code"] for f in body.get("findings", ())]
            self.codes[pid] = sorted(set(found)) or ["(none)"]
            return
        if body.get("from_state") == "validating" and pid not in self.left:
            occurred = datetime.fromisoformat(str(body["occurred_at"]).replace("Z", "+00:00")).timestamp()
            self.left[pid] = Left(occurred, time.perf_counter(), str(body["to_state"]))
            self.changed.set()

    async def wait_for(self, ids: set[str], deadline: float) -> None:
        while time.perf_counter() < deadline and not ids <= self.left.keys():
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(1.0, max(0.01, deadline - time.perf_counter())))

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()


async def packets_so_far() -> int:
    """How many packets intake holds: a later bench on the same `make run` starts its mix there, so it does not
    repeat the requests an earlier one left open."""
    conn = await asyncpg.connect(DSN, timeout=10)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM intake.packets"))
    finally:
        await conn.close()


async def recycle(stop: asyncio.Event) -> None:
    """Close validation's open requests once a second (the stand-in for determinations)."""
    conn = await asyncpg.connect(DSN, timeout=10)
    try:
        while not stop.is_set():
            try:
                await conn.execute("UPDATE validation.packets_seen SET open = false WHERE open")
            except asyncpg.PostgresError as e:
                print(f"  (recycling stopped: {e}; expect DUPLICATE_REQUEST dismissals)", flush=True)
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
    finally:
        await conn.close()


# --------------------------------------------------------------------------------- submitting


@dataclass
class Sent:
    item: Item
    scheduled: float  # perf_counter the send was due (fixed rate) or started (burst)
    status: int = 0
    latency: float | None = None  # HTTP, from `scheduled`
    answered: float = 0.0
    packet_id: str | None = None


async def partner_token(session: aiohttp.ClientSession) -> str:
    """submit_bench's token, tried again if a kept-alive connection was closed under it."""
    for _ in range(2):
        with contextlib.suppress(aiohttp.ServerDisconnectedError):
            return await token(session)
    return await token(session)


class Submitter:
    def __init__(self, session: aiohttp.ClientSession, auth: str) -> None:
        self.session = session
        self.headers = {"Authorization": f"Bearer {auth}"}

    async def send(self, sent: Sent) -> None:
        # Retried once when a kept-alive connection was closed under us; the Idempotency-Key makes that safe.
        headers = {**self.headers, "Idempotency-Key": sent.item.body["external_ref"]}
        for attempt in (1, 2):
            try:
                if sent.item.document:
                    form = aiohttp.FormData()
                    form.add_field("packet", json.dumps(sent.item.body), content_type="application/json")
                    form.add_field("documents", PDF, filename="note.pdf", content_type="application/pdf")
                    request = self.session.post(f"{INTAKE}/api/v1/packets", data=form, headers=headers)
                else:
                    request = self.session.post(f"{INTAKE}/api/v1/packets", json=sent.item.body, headers=headers)
                async with request as r:
                    sent.status = r.status
                    if r.status in (200, 201):
                        sent.packet_id = str((await r.json())["packet_id"])
                    else:
                        await r.read()
                break
            except aiohttp.ServerDisconnectedError:
                sent.status = -1
                if attempt == 2:
                    break
            except (aiohttp.ClientError, TimeoutError):
                sent.status = -1
                break
        sent.answered = time.perf_counter()
        if sent.packet_id:
            sent.latency = sent.answered - sent.scheduled


# ------------------------------------------------------------------------------------ the runs


@dataclass
class Phase:
    name: str
    sent: list[Sent] = field(default_factory=list)
    t0: float = 0.0
    wall0: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    own_ms: float = 0.0
    busy_ms: float = 0.0
    window: float = 0.0
    packets: int = 0  # left validating within the CPU window
    connections: Counter[str] = field(default_factory=Counter)  # PostgreSQL connections opened, per role
    notes: list[str] = field(default_factory=list)

    def ids(self) -> set[str]:
        return {s.packet_id for s in self.sent if s.packet_id}

    def wall(self, perf: float) -> float:
        return self.wall0 + (perf - self.t0)


def quantile(values: list[float], q: float, total: int) -> float:
    """Nearest-rank quantile over `total` observations of which `values` are known; inf if it falls beyond."""
    rank = max(1, math.ceil(q * total))
    return sorted(values)[rank - 1] if rank <= len(values) else math.inf


def fmt_s(v: float) -> str:
    if math.isinf(v):
        return "   (open)"
    return f"{v * 1000:7.0f} ms" if v < 10 else f"{v:7.1f} s "


def spread(values: list[float], total: int) -> str:
    if total == 0:
        return "n/a"
    parts = [f"p{int(q * 100)} {fmt_s(quantile(values, q, total))}" for q in (0.5, 0.95, 0.99)]
    worst = math.inf if len(values) < total else max(values)
    return "  ".join([*parts, f"max {fmt_s(worst)}"])


class Bench:
    def __init__(self, args: argparse.Namespace, run_pid: int, bus: Bus, mix: Mix) -> None:
        self.args = args
        self.run_pid = run_pid
        self.bus = bus
        self.mix = mix
        self.counter = 0  # position in the mix, carried across runs

    def next_item(self) -> Item:
        item = self.mix.item(self.counter)
        self.counter += 1
        return item

    async def _finish(self, phase: Phase, drain_deadline: float) -> None:
        ids = phase.ids()
        await self.bus.wait_for(ids, drain_deadline)
        await asyncio.sleep(self.args.settle)  # the transition's own events (gateway, validation) land

    def _account(self, phase: Phase, cpu: CpuWindow) -> None:
        ids = phase.ids()
        phase.cpu = cpu.per_group()
        phase.own_ms, phase.busy_ms, phase.window = cpu.own_ms, cpu.busy_ms, cpu.window
        phase.connections = cpu.connections_opened()
        phase.packets = len(ids & self.bus.left.keys())
        if len(ids) > phase.packets:
            phase.notes.append(
                f"{len(ids) - phase.packets} packets were still in `validating` when the CPU window closed "
                f"(drain limit {self.args.drain_timeout:.0f} s): the CPU figures leave them out; their times "
                "count if they left before the end of the bench, else the percentiles say (open)"
            )

    async def fixed_rate(self, session: aiohttp.ClientSession, rate: float, profile: bool) -> Phase:
        phase = Phase(f"{rate:g}/s")
        sub = Submitter(session, await partner_token(session))
        total = int(rate * self.args.duration)
        spies = start_profiles(self.args, self.run_pid, self.args.duration) if profile else []
        async with CpuWindow(self.run_pid) as cpu:
            phase.t0, phase.wall0 = time.perf_counter(), time.time()
            tasks = []
            for i in range(total):
                due = phase.t0 + i / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                sent = Sent(self.next_item(), due)
                phase.sent.append(sent)
                tasks.append(asyncio.create_task(sub.send(sent)))
            await asyncio.gather(*tasks)
            await self._finish(phase, time.perf_counter() + self.args.drain_timeout)
        self._account(phase, cpu)
        await finish_profiles(spies)
        if spies:
            phase.notes.append("py-spy sampled intake and validation during this run: its CPU figures are inflated")
        return phase

    async def burst(self, session: aiohttp.ClientSession) -> Phase:
        phase = Phase(f"burst {self.args.burst}")
        sub = Submitter(session, await partner_token(session))
        sem = asyncio.Semaphore(self.args.burst_concurrency)

        async def one() -> None:
            async with sem:
                sent = Sent(self.next_item(), time.perf_counter())
                phase.sent.append(sent)
                await sub.send(sent)

        async with CpuWindow(self.run_pid) as cpu:
            phase.t0, phase.wall0 = time.perf_counter(), time.time()
            await asyncio.gather(*(one() for _ in range(self.args.burst)))
            await self._finish(phase, time.perf_counter() + max(self.args.drain_timeout, self.args.burst / 5))
        self._account(phase, cpu)
        return phase

    async def idle(self, seconds: float) -> Phase:
        phase = Phase("idle")
        async with CpuWindow(self.run_pid) as cpu:
            await asyncio.sleep(seconds)
        self._account(phase, cpu)
        return phase

    async def quiet(self, phases: list[Phase]) -> None:
        """Before the next run, let the previous one's leftovers leave `validating` (bounded)."""
        waiting = set().union(*(p.ids() for p in phases))
        await self.bus.wait_for(waiting, time.perf_counter() + self.args.drain_timeout)


# -------------------------------------------------------------------------------------- py-spy


def start_profiles(args: argparse.Namespace, run_pid: int, seconds: float) -> list[subprocess.Popen[bytes]]:
    """`--profile DIR`: py-spy (if installed) on intake (all workers) and validation for one run."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        print("  (--profile: py-spy not found; `.venv/bin/pip install py-spy` to profile)")
        return []
    out = Path(args.profile)
    out.mkdir(parents=True, exist_ok=True)
    procs = read_procs()
    roots = {
        name: pid
        for pid, p in procs.items()
        if p.ppid == run_pid
        for key, name in SERVICE_NAMES[:2]
        if f"{key} serve" in p.cmdline
    }
    spies = []
    for name, pid in roots.items():
        # --gil: only the thread holding the GIL is sampled, so waiting in the event loop does not count.
        cmd = [spy, "record", "--pid", str(pid), "--subprocesses", "--gil", "--format", "raw", "--nolineno"]
        cmd += ["--rate", "100", "--duration", str(int(seconds)), "--output", str(out / f"{name}.txt")]
        spies.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # noqa: S603
    return spies


async def finish_profiles(spies: list[subprocess.Popen[bytes]]) -> None:
    for spy in spies:
        try:
            await asyncio.to_thread(spy.wait, 30)
        except subprocess.TimeoutExpired:
            spy.terminate()


def summarize_profiles(folder: str, top: int) -> list[str]:
    return [line for path in sorted(Path(folder).glob("*.txt")) for line in summarize_profile(path, top)]


def summarize_profile(path: Path, top: int) -> list[str]:
    """Top frames by own samples and by inclusive samples (project code only) from py-spy's raw output."""
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";") if not f.startswith("process ")]
        if not frames:
            continue
        total += int(n)
        own[frames[-1]] += int(n)
        for f in set(frames):
            if "wiser_" in f:
                incl[f] += int(n)
    if not total:
        return [f"  {path.name}: no samples"]
    lines = [f"  {path.stem}: {total} samples; own time (leaf frames):"]
    lines += [f"    {c / total:6.1%}  {f}" for f, c in own.most_common(top)]
    lines.append("   inclusive, project frames:")
    lines += [f"    {c / total:6.1%}  {f}" for f, c in incl.most_common(top)]
    return lines


# ------------------------------------------------------------------------------------ reporting


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with contextlib.suppress(OSError, StopIteration):
        mem_kb = int(
            next(v for v in Path("/proc/meminfo").read_text().splitlines() if v.startswith("MemTotal")).split()[1]
        )
    load = Path("/proc/loadavg").read_text().split()[:3]
    return (
        f"machine: {os.cpu_count()} cores, {model}, {mem_kb / 2**20:.1f} GiB RAM, {platform.machine()}, "
        f"Linux {platform.release()}, Python {platform.python_version()}; load average {' '.join(load)}"
    )


def report(phases: list[Phase], idle: Phase | None, bus: Bus, mix: Mix) -> None:
    print("\n== validation outcomes: share of the packets that left `validating` ==")
    header = f"{'outcome → state':<36} {'target':>7}" + "".join(f" {p.name:>11}" for p in phases)
    print(header)
    codes: Counter[str] = Counter()
    for outcome in OUTCOMES:
        state = next(s for s, o in OUTCOME_OF_STATE.items() if o == outcome)
        row = f"{outcome + ' → ' + state:<36} {mix.shares[outcome]:7.1%}"
        for p in phases:
            left = [bus.left[i] for i in p.ids() if i in bus.left]
            n = sum(1 for x in left if OUTCOME_OF_STATE.get(x.to_state) == outcome)
            row += f" {n / len(left) if left else 0:11.1%}"
        print(row)
    mismatched: Counter[str] = Counter()
    for p in phases:
        for s in p.sent:
            if s.packet_id in bus.left:
                got = OUTCOME_OF_STATE.get(bus.left[s.packet_id].to_state, bus.left[s.packet_id].to_state)
                if got != s.item.kind:
                    why = ",".join(bus.codes.get(s.packet_id, ()))
                    mismatched[f"{s.item.variant} → {got} ({why})"] += 1
                codes.update(bus.codes.get(s.packet_id, ()))
    print(f"finding codes seen: {', '.join(f'{c} {n}' for c, n in codes.most_common())}")
    print(
        "outcome not the intended one: "
        + (", ".join(f"{k}: {n}" for k, n in mismatched.most_common()) if mismatched else "none")
    )

    print("\n== submit → leaves `validating` (scheduled send to the transition's occurred_at) ==")
    for p in phases:
        ok = [s for s in p.sent if s.packet_id]
        leave = [bus.left[s.packet_id].occurred - p.wall(s.scheduled) for s in ok if s.packet_id in bus.left]  # type: ignore[index]
        http = [s.latency for s in ok if s.latency is not None]
        span = max((s.answered for s in ok), default=p.t0) - p.t0
        statuses = Counter("no answer in 30 s" if s.status < 0 else s.status for s in p.sent if not s.packet_id)
        print(
            f"{p.name}: {len(p.sent)} sent, {len(ok)} accepted in {span:.1f} s ({len(ok) / span if span else 0:.1f}/s)"
            + (f", refused/failed {dict(statuses)}" if statuses else "")
        )
        print(f"  submit HTTP        {spread(http, len(ok))}")
        print(f"  → left validating  {spread(leave, len(ok))}")
        if p.name.startswith("burst") and leave:
            last = max(bus.left[s.packet_id].occurred for s in ok if s.packet_id in bus.left)  # type: ignore[index]
            drain = last - p.wall0
            print(
                f"  burst: submit side {len(ok) / span:.1f} packets/s; first submit → last one left validating "
                f"{drain:.1f} s: drain {len(leave) / drain:.1f} packets/s"
            )
        lag = sorted(
            bus.left[s.packet_id].seen - p.t0 - (bus.left[s.packet_id].occurred - p.wall0)
            for s in ok
            if s.packet_id in bus.left
        )  # type: ignore[index]
        if lag:
            print(f"  (event read by the bench {lag[len(lag) // 2] * 1000:.0f} ms after occurred_at, median)")
        for note in p.notes:
            print(f"  note: {note}")

    cpu_table(phases, idle)


def cpu_table(phases: list[Phase], idle: Phase | None) -> None:
    """CPU-ms per packet per group and phase; the idle column (if measured) is CPU-ms per second, no load."""
    cols = ([idle] if idle else []) + phases
    per = [max(1e-9, p.window) if p is idle else max(1, p.packets) for p in cols]
    print("\n== CPU-ms per packet that reached its validation outcome (utime+stime from /proc) ==")
    if idle:
        print(f"(the first column is CPU-ms per second with no load, over {idle.window:.0f} s)")
    skip = (OTHER_DBS, PG_CHURN)
    names = sorted({g for p in cols for g in p.cpu if g not in skip}, key=lambda g: -sum(p.cpu.get(g, 0) for p in cols))

    def row(label: str, values: list[float], fmt: str = "11.1f") -> None:
        print(f"{label:<62}" + "".join(f" {v:{fmt}}" for v in values))

    print(f"{'process group':<62}" + "".join(f" {'idle ms/s' if p is idle else p.name:>11}" for p in cols))
    print(f"{'  packets / window':<62}" + "".join(f" {f'{p.packets}/{p.window:.0f}s':>11}" for p in cols))
    for g in names:
        row(g, [p.cpu.get(g, 0) / d for p, d in zip(cols, per, strict=True)])
    sums = [sum(v for g, v in p.cpu.items() if g not in skip) for p in cols]
    row("sum", [s / d for s, d in zip(sums, per, strict=True)])
    for role in sorted({r for p in cols for r in p.connections}):
        row(
            f"  new PostgreSQL connections per 100 packets, {role}",
            [0.0 if p is idle else 100 * p.connections[role] / d for p, d in zip(cols, per, strict=True)],
        )
    print("not counted:")
    row("  load generator (this script)", [p.own_ms / d for p, d in zip(cols, per, strict=True)])
    for g in skip:
        row(f"  {g}", [p.cpu.get(g, 0) / d for p, d in zip(cols, per, strict=True)])
    rest = [
        p.busy_ms - s - p.own_ms - p.cpu.get(OTHER_DBS, 0) - p.cpu.get(PG_CHURN, 0)
        for s, p in zip(sums, cols, strict=True)
    ]
    row("  everything else on the machine (e.g. test suites)", [r / d for r, d in zip(rest, per, strict=True)])
    row(
        "machine busy, % of all cores",
        [p.busy_ms / (max(1e-9, p.window) * 1000 * (os.cpu_count() or 1)) for p in cols],
        "11.0%",
    )


# ------------------------------------------------------------------------------------------ main


def loopback_only() -> None:
    for what, url in (("intake", INTAKE), ("AMQP", AMQP_URL), ("PostgreSQL", DSN)):
        if urlsplit(url).hostname not in LOOPBACK:
            raise SystemExit(f"{what} URL {url} is not on 127.0.0.1: this bench talks to the local system only")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--rates", default="20,50", help="fixed submit rates, packets/s (default 20,50)")
    ap.add_argument("--duration", type=float, default=120.0, help="seconds per fixed rate (default 120)")
    ap.add_argument("--burst", type=int, default=2000, help="packets in the burst, 0 to skip (default 2000)")
    ap.add_argument("--burst-concurrency", type=int, default=32, help="submits in flight in the burst (32)")
    ap.add_argument("--drain-timeout", type=float, default=120.0, help="wait at most this long for the stragglers")
    ap.add_argument("--mix", default="80,12,8", help="percent passed,needs_correction,dismiss (default 80,12,8)")
    ap.add_argument("--settle", type=float, default=2.0, help="seconds after the last outcome before sampling CPU")
    ap.add_argument("--idle", type=float, default=10.0, help="seconds of CPU with no load first, 0 to skip (10)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 15 s per rate, a 300-packet burst")
    ap.add_argument(
        "--people", type=int, default=600, help="synthetic beneficiaries taught to the sandbox (600; 0: fixtures only)"
    )
    ap.add_argument("--no-recycle", action="store_true", help="do not close validation's open requests")
    ap.add_argument("--profile", metavar="DIR", help="py-spy intake and validation during the highest rate")
    args = ap.parse_args(argv)
    if args.quick:
        args.duration = min(args.duration, 15.0)
        args.burst = min(args.burst, 300)
        args.drain_timeout = min(args.drain_timeout, 60.0)
        args.idle = min(args.idle, 5.0)
    args.rate_list = [float(r) for r in args.rates.split(",") if r.strip()]
    shares = tuple(int(x) for x in args.mix.split(","))
    if len(shares) != 3 or min(shares) < 0 or not sum(shares):
        ap.error("--mix needs three non-negative percentages")
    args.shares = shares
    if not 0 < args.duration <= 600 or any(not 0 < r <= 500 for r in args.rate_list) or not 0 <= args.burst <= 20000:
        ap.error("bounded runs only: duration ≤ 600 s, rates ≤ 500/s, burst ≤ 20000")
    return args


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    loopback_only()
    run_pid = find_run_py()
    if run_pid is None:
        raise SystemExit(f"no `make run` (infra/local/run.py) running in {ROOT}: start it first")
    mix = Mix(args.shares, args.people)
    await teach_sandbox(mix.people)
    print(machine())
    print(
        f"system: make run pid {run_pid} in {ROOT}; intake {INTAKE}; database {DB_NAME}; "
        f"{args.duration:.0f} s per rate at {args.rates}/s, burst {args.burst} ({args.burst_concurrency} in flight); "
        f"mix {args.mix} (passed, needs_correction, dismiss) from {len(mix.clean)} clean combinations "
        f"(fixtures and {len(mix.people)} synthetic beneficiaries)"
    )
    bus = Bus()
    await bus.start()
    stop = asyncio.Event()
    recycler = None if args.no_recycle else asyncio.create_task(recycle(stop))
    phases: list[Phase] = []
    idle: Phase | None = None
    top = max(args.rate_list, default=0)
    connector = aiohttp.TCPConnector(limit=256)
    timeout = aiohttp.ClientTimeout(total=30)
    try:
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            bench = Bench(args, run_pid, bus, mix)
            bench.counter = await packets_so_far()
            if args.idle:
                print(f"measuring {args.idle:.0f} s with no load …", flush=True)
                idle = await bench.idle(args.idle)
            for rate in args.rate_list:
                print(f"running {rate:g} packets/s for {args.duration:.0f} s …", flush=True)
                await bench.quiet(phases)
                phases.append(await bench.fixed_rate(session, rate, profile=bool(args.profile) and rate == top))
            if args.burst:
                print(f"running a burst of {args.burst} …", flush=True)
                await bench.quiet(phases)
                phases.append(await bench.burst(session))
    finally:
        stop.set()
        if recycler:
            await recycler
        await bus.close()
    report(phases, idle, bus, mix)
    if args.profile:
        print(f"\n== py-spy (during {top:g}/s; raw stacks in {args.profile}) ==")
        print("\n".join(summarize_profiles(args.profile, 10)))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
