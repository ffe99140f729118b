"""`make bench` (third part): how fast packets leave `validating` on a running system (`make run`).

Submits N packets from the fixtures (multipart with a PDF, 20 at a time), waits
until each has left `validating`, and reads from each packet's history when it
entered and left. Prints validated packets per second and the p50/p95 time from
submit to leaving `validating` (HETS, NPPES and PECOS are the sandbox peers on
the same machine).

Environment: WISER_INTAKE_URL (http://127.0.0.1:8001), WISER_BENCH_VALIDATIONS (300).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from datetime import datetime

import aiohttp
from submit_bench import INTAKE, packet, token

N = int(os.environ.get("WISER_BENCH_VALIDATIONS", "300"))
PDF = b"%PDF-1.4\n% synthetic\n" + b"0" * 4096


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def main() -> int:
    async with aiohttp.ClientSession() as session:
        auth = {"Authorization": f"Bearer {await token(session)}"}
        sem = asyncio.Semaphore(20)

        async def submit(i: int) -> str:
            body = packet()
            body["services"][0]["code"] = ("22554", "64483", "29877", "63655")[i % 4]
            body["diagnosis_codes"] = [("M50.12", "M54.16", "M17.11", "G89.29")[i % 4]]
            form = aiohttp.FormData()
            form.add_field("packet", json.dumps(body), content_type="application/json")
            form.add_field("documents", PDF, filename="note.pdf", content_type="application/pdf")
            async with sem, session.post(f"{INTAKE}/api/v1/packets", data=form, headers=auth) as r:
                return str((await r.json())["packet_id"])

        t0 = time.perf_counter()
        ids = await asyncio.gather(*(submit(i) for i in range(N)))
        waiting = set(ids)
        views: dict[str, dict[str, object]] = {}
        deadline = time.perf_counter() + 600
        while waiting and time.perf_counter() < deadline:
            for pid in list(waiting)[:50]:
                async with session.get(f"{INTAKE}/api/v1/packets/{pid}", headers=auth) as r:
                    view = await r.json()
                if view["state"] not in ("received", "validating"):
                    views[pid] = view
                    waiting.discard(pid)
            await asyncio.sleep(0.2)
        elapsed = time.perf_counter() - t0
    durations = []
    for view in views.values():
        history = view["history"]  # type: ignore[index]
        left = next(h for h in history if h["from"] == "validating")  # type: ignore[union-attr]
        durations.append((at(left["at"]) - at(view["received_at"])).total_seconds())  # type: ignore[arg-type,index]
    q = statistics.quantiles(sorted(durations), n=100, method="inclusive")
    outcomes: dict[str, int] = {}
    for view in views.values():
        outcomes[str(view["state"])] = outcomes.get(str(view["state"]), 0) + 1
    print(
        f"validation: {len(views)} of {N} packets left validating in {elapsed:.1f} s "
        f"({len(views) / elapsed:.1f} packets/s); submit to leaving validating p50 {q[49] * 1000:.0f} ms, "
        f"p95 {q[94] * 1000:.0f} ms; outcomes {outcomes}"
    )
    return 0 if not waiting else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
