"""`make bench` (outbound): letters delivered per second per channel against the sandbox's providers.

On a running system (`make run`, dev): for each channel (fax, mail, esmd, portal → email, api → the
`letter.available` webhook, with a local receiver), submits N requests as that channel's demo client from a
gold-card practitioner (validation dismisses them), approves each drafted letter set as a supervisor (a
gateway token signed with the dev demo key), and waits until every packet is `closed`. Prints per channel the
deliveries per second (packets over the time from the first entering `delivering` to the last `closed`, read
from each packet's history) and the p50/p95 of one packet's time in `delivering` (both copies confirmed:
the requester's on its channel and the beneficiary's by mail).

Environment: WISER_INTAKE_URL (http://127.0.0.1:8001), WISER_LETTERS_URL (http://127.0.0.1:8004),
WISER_BENCH_DELIVERIES (40 per channel), WISER_BENCH_CHANNELS (fax,mail,esmd,portal).
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

from wiser_servicekit.fixtures import packet_body
from wiser_servicekit.identity import DEMO_PRIVATE_KEYS, GATEWAY, issue_identity_token

INTAKE = os.environ.get("WISER_INTAKE_URL", "http://127.0.0.1:8001")
LETTERS = os.environ.get("WISER_LETTERS_URL", "http://127.0.0.1:8004")
N = int(os.environ.get("WISER_BENCH_DELIVERIES", "40"))
CHANNELS = os.environ.get("WISER_BENCH_CHANNELS", "fax,mail,esmd,portal").split(",")
PDF = b"%PDF-1.4\n% synthetic\n%%EOF\n"


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def staff() -> dict[str, str]:
    token = issue_identity_token(DEMO_PRIVATE_KEYS[GATEWAY], "bench-approver", ["supervisor"], ttl=600)
    return {"Authorization": f"Bearer {token}"}


async def token(session: aiohttp.ClientSession, client: str) -> dict[str, str]:
    form = {"grant_type": "client_credentials", "client_id": client, "client_secret": "demo-secret"}
    async with session.post(f"{INTAKE}/oauth/token", data=form) as r:
        r.raise_for_status()
        return {"Authorization": f"Bearer {(await r.json())['access_token']}"}


async def one_channel(session: aiohttp.ClientSession, channel: str) -> dict[str, float]:
    auth = await token(session, f"demo-{channel}")
    sem = asyncio.Semaphore(10)

    async def submit(i: int) -> str:
        body = packet_body("Sorelli", "Pryce", code="64581", dx="N39.41")
        body["external_ref"] = f"BENCH-OUT-{channel}-{time.time_ns()}-{i}"
        form = aiohttp.FormData()
        form.add_field("packet", json.dumps(body), content_type="application/json")
        form.add_field("documents", PDF, filename="note.pdf", content_type="application/pdf")
        async with sem, session.post(f"{INTAKE}/api/v1/packets", data=form, headers=auth) as r:
            return str((await r.json())["packet_id"])

    ids = await asyncio.gather(*(submit(i) for i in range(N)))
    approved: set[str] = set()
    closed: dict[str, dict[str, object]] = {}
    deadline = time.perf_counter() + 900
    while len(closed) < len(ids) and time.perf_counter() < deadline:
        for pid in [p for p in ids if p not in closed]:
            async with session.get(f"{INTAKE}/api/v1/packets/{pid}", headers=auth) as r:
                view = await r.json()
            if view["state"] == "letter_review" and pid not in approved:
                async with session.get(f"{LETTERS}/api/v1/letter-sets/by-packet/{pid}", headers=staff()) as r:
                    s = await r.json() if r.status == 200 else {}
                if s.get("status") == "drafted":
                    url = f"{LETTERS}/api/v1/letter-sets/{s['set_id']}/approve"
                    async with session.post(url, json={"version": s["version"]}, headers=staff()) as r:
                        if r.status == 200:
                            approved.add(pid)
            elif view["state"] in ("closed", "delivery_failed"):
                closed[pid] = view
        await asyncio.sleep(0.3)
    spans = []
    starts, ends = [], []
    for view in closed.values():
        history = view["history"]  # type: ignore[index]
        entered = [at(h["at"]) for h in history if h["to"] == "delivering"]  # type: ignore[index]
        left = [at(h["at"]) for h in history if h["to"] == "closed"]  # type: ignore[index]
        if entered and left:
            starts.append(entered[-1])
            ends.append(left[-1])
            spans.append((left[-1] - entered[-1]).total_seconds())
    if not spans:
        return {"delivered": 0}
    window = (max(ends) - min(starts)).total_seconds() or 1e-9
    spans.sort()
    return {
        "delivered": len(spans),
        "failed": sum(1 for v in closed.values() if v["state"] == "delivery_failed"),
        "per_second": len(spans) / window,
        "p50": statistics.median(spans),
        "p95": spans[max(0, int(len(spans) * 0.95) - 1)],
    }


async def main() -> int:
    async with aiohttp.ClientSession() as session:
        try:
            async with session.get(f"{LETTERS}/health/ready") as r:
                ready = r.status == 200
        except aiohttp.ClientError:
            ready = False
        if not ready:
            print(f"outbound bench: letters is not running at {LETTERS}; no letters to deliver (skipped)")
            return 0
        print(f"outbound: {N} dismissal letters per channel, requester copy on the channel + beneficiary by mail")
        for channel in CHANNELS:
            figures = await one_channel(session, channel)
            if not figures.get("delivered"):
                print(f"  {channel:<7} nothing delivered within 15 minutes")
                continue
            print(
                f"  {channel:<7} {figures['per_second']:6.2f} deliveries/s   in delivering p50 {figures['p50']:.2f}s"
                f" p95 {figures['p95']:.2f}s   ({int(figures['delivered'])} closed, {int(figures['failed'])} failed)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
