"""`make bench`: load figures for `POST /api/v1/packets` against a running intake (`make run`).

Four runs from 100 concurrent clients (aiohttp; httpx collapses as a load
generator near 300 req/s): JSON and multipart-with-a-1-MB-PDF, each closed-loop
(every client submits again as soon as it has an answer) and open-loop at a
fixed 300 req/s (latency measured from the scheduled send time, so a stalled
server cannot hide behind fewer sends). Prints throughput and p50/p95/p99.
Figures, not assertions: tests never assert wall-clock times.

Environment: WISER_INTAKE_URL (http://127.0.0.1:8001), WISER_BENCH_SECONDS (10),
WISER_BENCH_CLIENTS (100), WISER_BENCH_RATE (300).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from wiser_servicekit.fixtures import fixtures_dir, load_fixtures, packet_body

INTAKE = os.environ.get("WISER_INTAKE_URL", "http://127.0.0.1:8001")
SECONDS = float(os.environ.get("WISER_BENCH_SECONDS", "10"))
CLIENTS = int(os.environ.get("WISER_BENCH_CLIENTS", "100"))
RATE = float(os.environ.get("WISER_BENCH_RATE", "300"))
ROOT = Path(__file__).resolve().parents[2]
FIXTURES = fixtures_dir()


@dataclass
class Result:
    name: str
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    elapsed: float = 0.0

    def line(self) -> str:
        ok = sorted(self.latencies)
        if not ok:
            return f"{self.name:<38} no successful requests; statuses={self.statuses} errors={self.errors}"
        q = statistics.quantiles(ok, n=100, method="inclusive")
        return (
            f"{self.name:<38} {len(ok) / self.elapsed:8.1f} req/s  p50 {q[49] * 1000:7.1f} ms  "
            f"p95 {q[94] * 1000:7.1f} ms  p99 {q[98] * 1000:7.1f} ms  n={len(ok)} "
            f"non-2xx={sum(v for k, v in self.statuses.items() if k >= 300)} errors={self.errors}"
        )


def packet() -> dict[str, Any]:
    """The first fixture beneficiary and practitioner, one HGNS line (the shared builder)."""
    fx = load_fixtures(FIXTURES)
    body = packet_body(next(iter(fx.beneficiaries)), next(iter(fx.practitioners)), fixtures=fx)
    body["external_ref"] = "BENCH-" + uuid.uuid4().hex[:12]
    return body


def one_mb_pdf() -> bytes:
    body = b"%PDF-1.4\n% synthetic benchmark document\n"
    return body + b"0" * (1024 * 1024 - len(body))


async def token(session: aiohttp.ClientSession) -> str:
    async with session.post(
        f"{INTAKE}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "demo-partner", "client_secret": "demo-secret"},
    ) as r:
        if r.status != 200:
            raise SystemExit(f"token: {r.status} {await r.text()} (is `make run` up?)")
        return str((await r.json())["access_token"])


async def submit(session: aiohttp.ClientSession, auth: str, multipart: bool, pdf: bytes) -> int:
    headers = {"Authorization": f"Bearer {auth}"}
    if multipart:
        form = aiohttp.FormData()
        form.add_field("packet", json.dumps(packet()), content_type="application/json")
        form.add_field("documents", pdf, filename="note.pdf", content_type="application/pdf")
        async with session.post(f"{INTAKE}/api/v1/packets", data=form, headers=headers) as r:
            await r.read()
            return r.status
    async with session.post(f"{INTAKE}/api/v1/packets", json=packet(), headers=headers) as r:
        await r.read()
        return r.status


async def record(result: Result, coro: Any, started: float) -> None:
    try:
        status = await coro
    except Exception:
        result.errors += 1
        return
    result.statuses[status] = result.statuses.get(status, 0) + 1
    if 200 <= status < 300:
        result.latencies.append(time.perf_counter() - started)


async def closed_loop(name: str, auth: str, multipart: bool, pdf: bytes) -> Result:
    result = Result(name)
    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        stop = time.perf_counter() + SECONDS

        async def client() -> None:
            while time.perf_counter() < stop:
                t = time.perf_counter()
                await record(result, submit(session, auth, multipart, pdf), t)

        t0 = time.perf_counter()
        await asyncio.gather(*[client() for _ in range(CLIENTS)])
        result.elapsed = time.perf_counter() - t0
    return result


async def fixed_rate(name: str, auth: str, multipart: bool, pdf: bytes) -> Result:
    result = Result(name)
    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        total = int(RATE * SECONDS)
        t0 = time.perf_counter()
        tasks = []
        for i in range(total):
            scheduled = t0 + i / RATE
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(record(result, submit(session, auth, multipart, pdf), scheduled)))
        await asyncio.gather(*tasks)
        result.elapsed = time.perf_counter() - t0
    return result


async def main() -> int:
    async with aiohttp.ClientSession() as session:
        auth = await token(session)
    pdf = one_mb_pdf()
    print(f"intake {INTAKE}; {CLIENTS} clients; {SECONDS:.0f} s per run; fixed rate {RATE:.0f} req/s")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}\n")
    runs = [
        ("closed loop, JSON", closed_loop, False),
        ("closed loop, multipart + 1 MB PDF", closed_loop, True),
        (f"fixed {RATE:.0f} req/s, JSON", fixed_rate, False),
        (f"fixed {RATE:.0f} req/s, multipart + 1 MB PDF", fixed_rate, True),
    ]
    for name, run, multipart in runs:
        print((await run(name, auth, multipart, pdf)).line(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
