"""Three replicas each of intake and validation (relays included), 1,000 packets, outcome events in shuffled
bursts, one intake replica killed mid-run: every packet ends where its events lead, in order, once.

A helper plays clinical, letters and outbound: for every packet that reaches `clinical_queue` it publishes
the rest of its journey, each producer's events in that producer's order, but the three producers'
streams shuffled into each other (so a letter can be drafted "before" the determination reaches intake).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from wiser_contracts import messages as m
from wiser_servicekit.testing import BusProbe, Infra, Producers, free_port

from .conftest import ROOT, FullSystem, seed_partner, stop, system_env, validation_env
from .test_validation import BENS, PROV, packet

PACKETS = int(os.environ.get("WISER_SCALE_PACKETS", "1000"))
REPLICAS = 3
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
JOURNEY = ["T1", "T2", "T7", "T9", "UTN", "T13", "T14", "T16"]  # the UTN: a change in place, in history


class Scale(FullSystem):
    intakes: list[tuple[subprocess.Popen[bytes], str]]


@pytest.fixture(scope="module")
def scale(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scale]:
    own = infra.derive("scale")
    sysm = Scale(own, tmp_path_factory.mktemp("scale-logs"), system_env(own))
    sysm.intakes = []
    sandbox_port = free_port()
    sysm.env.update(validation_env(own, sandbox_port, 0))  # intake's URL is known once it runs
    # Quick hand-over when a replica dies, so the test does not wait long for it.
    for service in ("INTAKE", "VALIDATION"):
        sysm.env[f"WISER_{service}_LEASE_TTL_SECONDS"] = "4"
        sysm.env[f"WISER_{service}_LEASE_INTERVAL_SECONDS"] = "1"
        # Six replicas (and the other e2e systems of this session) share one PostgreSQL's 100 connections.
        sysm.env[f"WISER_{service}_DB_POOL_SIZE"] = "4"
    try:
        for module in ("wiser_intake", "wiser_validation"):
            subprocess.run([sys.executable, "-m", module, "migrate"], cwd=ROOT, env=sysm.env, check=True)
        _, sysm.sandbox_url = sysm.start("sandbox", ["wiser_sandbox"], sandbox_port)
        for i in range(REPLICAS):
            sysm.intakes.append(sysm.start_intake(f"intake-{i}", WISER_INTAKE_WORKERS="1"))
        sysm.url = sysm.intakes[0][1]
        sysm.ops_url = sysm.ops_urls[sysm.url]
        for i in range(REPLICAS):
            port = free_port()
            sysm.start(
                f"validation-{i}",
                ["wiser_validation", "serve"],
                port,
                WISER_VALIDATION_HTTP_PORT=str(port),
                WISER_VALIDATION_INTAKE_URL=sysm.ops_url,
            )
        seed_partner(sysm)
        yield sysm
    finally:
        stop(sysm)


def _packets(n: int) -> list[dict[str, Any]]:
    """Clean packets from the fixtures, spread over beneficiaries, practitioners and services."""
    bens = list(BENS)
    facs = {f["state"] for f in PROV["facilities"]}
    pracs = [
        p["last_name"]
        for p in PROV["practitioners"]
        if p["state"] in facs
        and p["provider_type"] in ("MD", "DO")
        and p["pecos"] == "enrolled"
        and p["nppes"] == "active"
        and not p["gold_card_exempt"]
    ]
    # One code from each of several Appendix A services: few packets are duplicates of an open one.
    codes = [("64581", "N39.41"), ("29877", "M17.11"), ("64605", "G50.0"), ("33276", "G47.31"), ("63655", "M54.16")]
    out = []
    for i in range(n):
        code, dx = codes[(i // len(bens)) % len(codes)]
        prac = pracs[(i // (len(bens) * len(codes))) % len(pracs)]
        body = packet(bens[i % len(bens)], prac, code=code, dx=dx, dos_days=20 + i % 30)
        body["external_ref"] = f"SCALE-{i}"
        out.append(body)
    return out


def _journey(pid: uuid.UUID, n: int) -> list[list[m.Message]]:
    """The rest of one packet's journey, one list per producer, each in its producer's order."""
    letter = uuid.uuid4()
    clinical: list[m.Message] = [
        m.ReviewAssigned(packet_id=pid, producer="clinical", reviewer_id=f"nurse-{n % 7}"),
        m.DeterminationRecorded(
            packet_id=pid,
            producer="clinical",
            outcome=m.Outcome.AFFIRMED,
            decided_by=f"nurse-{n % 7}",
            decided_by_role="clinical_reviewer",
            decided_at=datetime.now(UTC),
        ),
        m.UtnAssigned(packet_id=pid, producer="clinical", utn=f"JLA26{n:09d}"),
    ]
    letters: list[m.Message] = [
        m.LetterDrafted(packet_id=pid, producer="letters", letter_id=letter, kind="affirmation"),
        m.LetterApproved(
            packet_id=pid, producer="letters", letter_id=letter, approved_by="supervisor-1", approver_role="supervisor"
        ),
    ]
    outbound: list[m.Message] = [m.DeliveryCompleted(packet_id=pid, producer="outbound", delivery_id=uuid.uuid4())]
    return [clinical, letters, outbound]


def _shuffled(streams: list[list[m.Message]], rng: random.Random) -> list[m.Message]:
    """Interleave the streams at random, keeping each stream's own order."""
    queues = [list(s) for s in streams if s]
    out: list[m.Message] = []
    while queues:
        q = rng.choice(queues)
        out.append(q.pop(0))
        if not q:
            queues.remove(q)
    return out


async def _owners(dsn: str, schema: str) -> dict[int, str | None]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(f'SELECT partition, owner FROM "{schema}".bus_leases WHERE expires_at > now()')
        return {r["partition"]: r["owner"] for r in rows}
    finally:
        await conn.close()


@pytest.mark.slow
async def test_a_thousand_packets_across_three_replicas_end_where_their_events_lead(scale: Scale) -> None:
    admin_dsn = scale.infra.dsn()
    rng = random.Random(42)
    producers = Producers(scale.infra)
    helper_done = asyncio.Event()
    published_for: set[uuid.UUID] = set()

    async def helper(probe: BusProbe) -> None:
        """Plays clinical, letters and outbound for every packet that reaches clinical_queue."""
        seen = 0
        while not helper_done.is_set():
            arrived = probe.of_type("intake.packet.transitioned.clinical_queue")
            fresh = [uuid.UUID(str(t["packet_id"])) for t in arrived[seen:]]
            seen = len(arrived)
            for i in range(0, len(fresh), 25):  # bursts of 25 packets, their producers' streams shuffled together
                burst: list[m.Message] = []
                streams = [s for n, pid in enumerate(fresh[i : i + 25]) for s in _journey(pid, len(published_for) + n)]
                rng.shuffle(streams)
                burst = _shuffled(streams, rng)
                for message in burst:
                    await producers.publish(message)
                published_for.update(fresh[i : i + 25])
            await asyncio.sleep(0.2)

    async with httpx.AsyncClient(timeout=60) as http:
        token = (
            await http.post(
                f"{scale.url}/oauth/token",
                data={"grant_type": "client_credentials", "client_id": "demo-partner", "client_secret": "demo-secret"},
            )
        ).json()["access_token"]
        partner = {"Authorization": f"Bearer {token}"}
        async with BusProbe(scale.infra.amqp_url, ("intake.packet.transitioned.#",)) as probe:
            helper_task = asyncio.create_task(helper(probe))
            bodies = _packets(PACKETS)
            sem = asyncio.Semaphore(16)
            submitted: list[uuid.UUID] = []
            killed = False
            owners_before: dict[str, dict[int, str | None]] = {}

            async def submit(body: dict[str, Any]) -> None:
                nonlocal killed
                async with sem:
                    # Partners reach the first two replicas; the third is the one that dies.
                    url = scale.intakes[rng.randrange(REPLICAS - 1)][1]
                    r = await http.post(
                        f"{url}/api/v1/packets",
                        headers={**partner, "Idempotency-Key": body["external_ref"]},
                        data={"packet": json.dumps(body)},
                        files=[("documents", ("note.pdf", PDF, "application/pdf"))],
                    )
                    assert r.status_code == 201, r.text
                    submitted.append(uuid.UUID(r.json()["packet_id"]))
                    if len(submitted) == PACKETS // 3 and not killed:
                        killed = True
                        for schema in ("intake", "validation"):
                            owners_before[schema] = await _owners(admin_dsn, schema)
                        victim = scale.intakes[-1][0]
                        os.killpg(victim.pid, signal.SIGKILL)  # mid-run, relays and consumers included

            await asyncio.gather(*(submit(b) for b in bodies))
            # Every replica owned some partitions while all were alive.
            for schema in ("intake", "validation"):
                assert len(set(owners_before[schema].values())) == REPLICAS, (schema, owners_before[schema])

            conn = await asyncpg.connect(admin_dsn)
            try:

                async def states() -> dict[str, int]:
                    rows = await conn.fetch("SELECT state, count(*) AS n FROM intake.packets GROUP BY state")
                    return {r["state"]: r["n"] for r in rows}

                loop = asyncio.get_running_loop()
                deadline = loop.time() + 420
                while True:
                    counts = await states()
                    moving = (
                        "received",
                        "validating",
                        "clinical_queue",
                        "clinical_review",
                        "letter_review",
                        "delivering",
                    )
                    if not any(counts.get(s) for s in moving) and counts.get("closed", 0) >= len(published_for):
                        break
                    assert loop.time() < deadline, counts
                    await asyncio.sleep(1)
                helper_done.set()
                await helper_task
                history = await conn.fetch(
                    "SELECT packet_id, transition, from_state, to_state, version, message_id "
                    "FROM intake.transitions ORDER BY packet_id, id"
                )
                packets = {r["id"]: r for r in await conn.fetch("SELECT id, state, version, utn FROM intake.packets")}
            finally:
                await conn.close()
    await producers.close()

    assert len(submitted) == PACKETS and set(packets) == set(submitted)
    by_packet: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in history:
        by_packet[row["packet_id"]].append(row)
    outcomes: dict[str, int] = defaultdict(int)
    for pid, rows in by_packet.items():
        tids = [r["transition"] for r in rows]
        # In order: versions count up by one, each transition starts where the last one ended.
        assert [r["version"] for r in rows] == list(range(2, len(rows) + 2)), (pid, tids)
        for prev, nxt in itertools.pairwise(rows):
            assert prev["to_state"] == nxt["from_state"], (pid, tids)
        # Once: no trigger applied twice.
        triggers = [r["message_id"] for r in rows if r["message_id"] is not None]
        assert len(triggers) == len(set(triggers)), (pid, tids)
        packet = packets[pid]
        assert packet["version"] == rows[-1]["version"]
        if tids[1] == "T2":
            assert tids == JOURNEY, (pid, tids)
            assert packet["state"] == "closed" and packet["utn"], (pid, packet["state"])
        elif tids[1] == "T3":
            assert tids == ["T1", "T3"] and packet["state"] == "manual_review", (pid, tids)
        else:
            assert tids == ["T1", "T4"] and packet["state"] == "determined", (pid, tids)
        outcomes[tids[1]] += 1
    assert outcomes["T2"] == len(published_for) > PACKETS // 4, dict(outcomes)
    # The dead replica's partitions went to the living.
    for schema in ("intake",):
        after = await _owners(admin_dsn, schema)
        assert set(after) == set(range(8)) and len(set(after.values())) == REPLICAS - 1, after
    logs = scale.logs()
    assert "partition acquired" in logs
    print(f"\nscale: {dict(outcomes)} over {REPLICAS} intake and {REPLICAS} validation replicas")
