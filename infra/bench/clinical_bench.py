"""`make bench` (clinical): queue-to-assignment latency and decisions per second on a running system (`make run`).

Gives bench reviewers profiles (nurses and medical directors licensed everywhere for every service), submits N
clean packets through the partner API (distinct beneficiary, practitioner and service each, so none is
another's duplicate) and waits until validation has put them in `clinical_queue` and clinical has assigned
them; the latency is read from each packet's history (entered `clinical_queue` -> entered `clinical_review`).
Then the bench acts as whoever holds each case, through clinical's API with gateway-signed person tokens (the
dev gateway key): the nurse answers the checklist and affirms, or (one case in five) escalates and the medical
director non-affirms with a reason per unmet criterion. Prints decisions per second and decision latency.
Figures, not assertions.

Environment: WISER_INTAKE_URL (http://127.0.0.1:8001), WISER_CLINICAL_URL (http://127.0.0.1:8003),
WISER_BENCH_CLINICAL_PACKETS (60), WISER_BENCH_GATEWAY_KEY (the dev gateway key).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import statistics
import sys
import time
from datetime import datetime
from typing import Any

import aiohttp

from wiser_servicekit.fixtures import load_fixtures, packet_body
from wiser_servicekit.identity import DEMO_PRIVATE_KEYS, issue_identity_token

INTAKE = os.environ.get("WISER_INTAKE_URL", "http://127.0.0.1:8001")
CLINICAL = os.environ.get("WISER_CLINICAL_URL", "http://127.0.0.1:8003")
N = int(os.environ.get("WISER_BENCH_CLINICAL_PACKETS", "60"))
GATEWAY_KEY = os.environ.get("WISER_BENCH_GATEWAY_KEY", DEMO_PRIVATE_KEYS["wiser-gateway"])
PDF = b"%PDF-1.4\n% synthetic\n" + b"0" * 4096
STATES = ("NJ", "OH", "OK", "TX", "AZ", "WA")
# (code, diagnosis, service id): services whose diagnoses are not restricted, or with an Appendix B one.
SERVICES = (
    ("29877", "M23.205", "knee_arthroscopy"),
    ("64605", "G50.0", "trigeminal_nerve_lesions"),
    ("33276", "G47.31", "phrenic_nerve_stimulation"),
    ("63655", "M54.16", "spinal_cord_stimulation"),
    ("53445", "N39.3", "incontinence_control_devices"),
    ("54400", "N52.9", "penile_prosthesis"),
    ("22513", "M81.0", "vertebral_augmentation"),
    ("64483", "M54.16", "epidural_steroid_injections"),
    ("22554", "M50.12", "cervical_fusion"),
    ("64582", "G47.33", "hypoglossal_nerve_stimulation"),
)
BENEFICIARIES = (
    "Quillon", "Sorelli", "Marwood", "Paxley", "Brennick", "Ardmore", "Tallis", "Wrenfield", "Thorne", "Mercer",
    "Westbrook", "Ravensby",
)  # fmt: skip
PRACTITIONERS = ("Brightwater", "Okonkwo", "Achterberg", "Lindqvist", "Montague", "Whitcombe", "Delacroix")
NURSES = [f"bench-nurse-{i}" for i in range(1, 5)]
MDS = [f"bench-md-{i}" for i in range(1, 3)]
SPECIALTIES = (
    "orthopedic_surgery", "neurosurgery", "neurology", "pain_medicine", "anesthesiology", "urology", "otolaryngology",
    "sleep_medicine", "wound_care", "interventional_radiology", "pulmonology", "psychiatry", "physical_medicine",
    "urogynecology", "dermatology", "podiatry", "vascular_surgery",
)  # fmt: skip


def person(user_id: str, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_identity_token(GATEWAY_KEY, user_id, [role], ttl=300)}"}


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def pct(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(sorted(values), n=100, method="inclusive")[p - 1]


async def main() -> int:
    fx = load_fixtures()
    combos = list(itertools.product(BENEFICIARIES, PRACTITIONERS, SERVICES))
    random.shuffle(combos)
    sup = person("bench-supervisor", "supervisor")
    async with aiohttp.ClientSession() as s:
        everywhere = [{"state": st, "expires": "2031-12-31"} for st in STATES]
        all_services = [sid for _, _, sid in SERVICES]
        for uid, role in [(u, "clinical_reviewer") for u in NURSES] + [(u, "medical_director") for u in MDS]:
            body = {
                "display_name": uid,
                "role": role,
                "licences": everywhere,
                "services": all_services,
                "capacity": 100,
                "specialties": list(SPECIALTIES) if role == "medical_director" else [],
            }
            async with s.put(f"{CLINICAL}/api/v1/reviewers/{uid}", json=body, headers=sup) as r:
                if r.status != 200:
                    raise SystemExit(f"reviewer profile: {r.status} {await r.text()} (is `make run` up?)")
        async with s.post(
            f"{INTAKE}/oauth/token",
            data={"grant_type": "client_credentials", "client_id": "demo-partner", "client_secret": "demo-secret"},
        ) as r:
            partner = {"Authorization": f"Bearer {(await r.json())['access_token']}"}
        sem = asyncio.Semaphore(10)

        async def submit(i: int) -> str:
            ben, prac, (code, dx, _) = combos[i]
            body = packet_body(ben, prac, code=code, dx=dx, fixtures=fx)
            form = aiohttp.FormData()
            form.add_field("packet", json.dumps(body), content_type="application/json")
            form.add_field("documents", PDF, filename="note.pdf", content_type="application/pdf")
            async with sem, s.post(f"{INTAKE}/api/v1/packets", data=form, headers=partner) as r:
                return str((await r.json())["packet_id"])

        ids = await asyncio.gather(*(submit(i) for i in range(min(N, len(combos)))))
        views: dict[str, dict[str, Any]] = {}
        waiting, deadline = set(ids), time.perf_counter() + 300
        while waiting and time.perf_counter() < deadline:
            for pid in list(waiting)[:50]:
                async with s.get(f"{INTAKE}/api/v1/packets/{pid}", headers=partner) as r:
                    view = await r.json()
                tos = [h["to"] for h in view["history"]]
                if "clinical_review" in tos or view["state"] in ("manual_review", "determined", "closed"):
                    views[pid] = view
                    waiting.discard(pid)
            await asyncio.sleep(0.2)
        reviewed = {pid: v for pid, v in views.items() if any(h["to"] == "clinical_review" for h in v["history"])}
        latencies = []
        for v in reviewed.values():
            queued = next(h for h in v["history"] if h["to"] == "clinical_queue")
            assigned = next(h for h in v["history"] if h["to"] == "clinical_review")
            latencies.append((at(assigned["at"]) - at(queued["at"])).total_seconds())
        async with s.get(f"{CLINICAL}/api/v1/reviewers", headers=sup) as r:
            role_of = {p["user_id"]: p["role"] for p in await r.json()}

        async def holder(pid: str, stage: str) -> str:
            for _ in range(600):
                async with s.get(f"{CLINICAL}/api/v1/cases/{pid}", headers=sup) as r:
                    case = await r.json()
                if case["assigned_to"] and case["stage"] == stage:
                    return str(case["assigned_to"])
                await asyncio.sleep(0.1)
            raise RuntimeError(f"{pid} not assigned at the {stage} stage")

        decision_times: list[float] = []
        outcomes: dict[str, int] = {}

        async def decide(i: int, pid: str) -> None:
            async with sem:
                t0 = time.perf_counter()
                nurse = await holder(pid, "nurse")
                as_nurse = person(nurse, role_of.get(nurse, "clinical_reviewer"))
                async with s.get(f"{CLINICAL}/api/v1/cases/{pid}", headers=as_nurse) as r:
                    case = await r.json()
                items = case["checklist"]["items"]
                escalate = i % 5 == 4
                answers = [
                    {
                        "criterion_id": it["criterion_id"],
                        "answer": "not_met" if escalate and k == 0 else "met",
                        "evidence": [{"page": 1, "quote": "documented"}],
                    }
                    for k, it in enumerate(items)
                ]
                async with s.put(
                    f"{CLINICAL}/api/v1/cases/{pid}/checklist", json={"answers": answers}, headers=as_nurse
                ) as r:
                    assert r.status == 200, await r.text()
                if not escalate:
                    async with s.post(f"{CLINICAL}/api/v1/cases/{pid}/affirm", json={}, headers=as_nurse) as r:
                        assert r.status == 200, await r.text()
                        outcome = (await r.json())["outcome"]
                else:
                    body = {"recommendation": "non_affirmed", "rationale": "first criterion not met"}
                    async with s.post(f"{CLINICAL}/api/v1/cases/{pid}/escalate", json=body, headers=as_nurse) as r:
                        assert r.status == 200, await r.text()
                    md = await holder(pid, "md")
                    decision = {
                        "lines": [
                            {
                                "code": ln["code"],
                                "outcome": "non_affirmed",
                                "unmet": [{"criterion_id": items[0]["criterion_id"], "reason": "not in the records"}],
                            }
                            for ln in case["lines"]
                        ]
                    }
                    async with s.post(
                        f"{CLINICAL}/api/v1/cases/{pid}/decision", json=decision, headers=person(md, "medical_director")
                    ) as r:
                        assert r.status == 200, await r.text()
                        outcome = (await r.json())["outcome"]
                decision_times.append(time.perf_counter() - t0)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1

        t0 = time.perf_counter()
        await asyncio.gather(*(decide(i, pid) for i, pid in enumerate(reviewed)))
        elapsed = time.perf_counter() - t0
    states: dict[str, int] = {}
    for pid, v in views.items():
        key = "clinical" if pid in reviewed else str(v["state"])
        states[key] = states.get(key, 0) + 1
    print(
        f"clinical: {len(reviewed)} of {len(ids)} packets reached clinical review ({states}); queue to assignment "
        f"p50 {pct(latencies, 50) * 1000:.0f} ms, p95 {pct(latencies, 95) * 1000:.0f} ms"
    )
    print(
        f"clinical: {len(decision_times)} decisions in {elapsed:.1f} s ({len(decision_times) / elapsed:.1f} "
        f"decisions/s, 10 reviewers at once); per case (checklist + decision, escalations through the MD) p50 "
        f"{pct(decision_times, 50) * 1000:.0f} ms, p95 {pct(decision_times, 95) * 1000:.0f} ms; outcomes {outcomes}"
    )
    return 0 if not waiting else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
