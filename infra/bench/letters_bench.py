"""`make bench`: how fast letters renders decision letters (no running system needed: the renderer alone).

Builds a mix of letter models from the synthetic fixtures — each outcome (affirmation, non-affirmation, partial
affirmation, dismissal), both recipients, one to six services with one to four unmet criteria each (one to three
pages) — composes and checks them as the service does, then renders them in one process the way a letters replica
does (fonts registered once). Prints letters rendered per second and CPU-ms per letter (process time: what one core
spends), with the median and 95th percentile per letter, and fails if the mean is over the budget.

Environment: WISER_BENCH_LETTERS (400), WISER_BENCH_LETTER_BUDGET_MS (8).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import UTC, date, datetime
from typing import Any

from wiser_letters import templates
from wiser_letters.adapters.render import render
from wiser_letters.domain.checks import check_letter, failures
from wiser_letters.domain.compose import compose
from wiser_letters.domain.document import Document
from wiser_letters.domain.model import Address, Contact, Dismissal, build_letters

N = int(os.environ.get("WISER_BENCH_LETTERS", "400"))
BUDGET_MS = float(os.environ.get("WISER_BENCH_LETTER_BUDGET_MS", "8"))
CONTACT = Contact(
    organisation="Garden State Review Partners",
    address=Address(line1="100 Review Way", city="Trenton", state="NJ", zip="08608"),
    phone="1-800-555-0142",
    fax="1-800-555-0143",
    hours="Monday to Friday, 8 a.m. to 6 p.m. Eastern",
    website="www.example.org/wiser",
)
CODES = [
    ("64581", "Sacral nerve stimulation, implantation of neurostimulator electrode"),
    ("64590", "Sacral nerve stimulation, insertion of pulse generator"),
    ("63655", "Spinal cord stimulation, paddle electrode implantation"),
    ("22554", "Cervical spinal fusion, anterior approach"),
    ("64483", "Epidural steroid injection, lumbar, transforaminal"),
    ("29877", "Knee arthroscopy with debridement"),
]
CRITERIA = [
    (
        "C-1",
        "Symptoms for at least 12 months",
        "The records show symptoms for 4 months only",
        "Office notes showing 12 months of symptoms",
    ),
    (
        "C-2",
        "Failure of conservative treatment",
        "No trial of physical therapy or medication is documented",
        "Records of the therapy and drug trials and their results",
    ),
    (
        "C-3",
        "Imaging that confirms the diagnosis",
        "The MRI report is older than 12 months",
        "An MRI report from the last 12 months",
    ),
    (
        "C-4",
        "A trial stimulation with at least 50 % relief",
        "The trial results are not in the records",
        "The trial log with daily pain scores",
    ),
]


def packet(i: int, lines: int) -> dict[str, Any]:
    return {
        "packet_id": f"00000000-0000-4000-8000-{i:012d}",
        "tracking_number": f"WSR-2026-{i:06d}",
        "review_type": "standard",
        "due_at": "2026-11-26T15:00:00+00:00",
        "beneficiary": {
            "mbi": "9J06YC0QA26",
            "first_name": "Avery",
            "last_name": "Quillon",
            "date_of_birth": "1948-12-10",
            "address": {"line1": "1 Main St", "city": "Newark", "state": "NJ", "zip": "07102"},
        },
        "practitioner": {
            "npi": "1151056334",
            "ptan": "NJ100000",
            "first_name": "Ursula",
            "last_name": "Brightwater",
            "address": {"line1": "2 Elm St", "city": "Newark", "state": "NJ", "zip": "07102"},
        },
        "facility": {"name": "Newark General Hospital", "npi": "1223236740"},
        "requester": {"name": "Front Desk"},
        "services": [{"code": c, "units": 1} for c, _ in CODES[:lines]],
        "determination": {"outcome": "dismissed", "decided_at": "2026-11-22T15:00:00+00:00"},
        "dismissal": {"code": "EXEMPT_PROVIDER", "reason": "Provider holds an exemption (gold card)"},
    }


def determination(outcome: str, lines: int, criteria: int) -> dict[str, Any]:
    out = []
    for k, (code, desc) in enumerate(CODES[:lines]):
        line = outcome if outcome != "partially_affirmed" else ("affirmed" if k == 0 else "non_affirmed")
        unmet = (
            [
                {"criterion_id": cid, "criterion": crit, "policy": "LCD L39543", "reason": why, "resubmission": send}
                for cid, crit, why, send in CRITERIA[:criteria]
            ]
            if line == "non_affirmed"
            else []
        )
        out.append({"code": code, "description": desc, "units": 1 + k % 2, "outcome": line, "unmet": unmet})
    return {
        "outcome": outcome,
        "decided_at": "2026-11-22T15:00:00+00:00",
        "lines": out,
        "peer_to_peer": {"phone": "1-800-555-0150", "hours": "weekdays 9 to 5 Eastern", "how": "Name the UTN."},
    }


def documents() -> list[Document]:
    t = templates.latest()
    docs = []
    outcomes = ("affirmed", "non_affirmed", "partially_affirmed", "dismissed")
    for i in range(N // 2):
        outcome = outcomes[i % 4]
        lines = 1 + (i // 4) % 6
        if outcome == "partially_affirmed":
            lines = max(lines, 2)
        criteria = 1 + (i // 24) % 4
        dismissed = outcome == "dismissed"
        models = build_letters(
            packet=packet(i, lines),
            determination=None if dismissed else determination(outcome, lines, criteria),
            dismissal=Dismissal("EXEMPT_PROVIDER", "Provider holds an exemption (gold card)", "Bill normally")
            if dismissed
            else None,
            descriptions=dict(CODES),
            contact=CONTACT,
            template_version=t["version"],
            letter_date=date(2026, 11, 23),
            utn=None if dismissed else "JLA26001234567",
        )
        for m in models:
            doc = compose(m, t["texts"])
            bad = failures(check_letter(m, doc))
            assert not bad, (outcome, m.recipient, bad)
            docs.append(doc)
    return docs


def main() -> int:
    docs = documents()
    render(docs[0])  # fonts registered and parsed once per process, as in a running replica
    per_letter: list[float] = []
    pages = 0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for doc in docs:
        c = time.process_time()
        pdf = render(doc)
        per_letter.append((time.process_time() - c) * 1000)
        pages += pdf.count(b"/Type /Page\n") or pdf.count(b"/Type /Page ")
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    mean = cpu * 1000 / len(docs)
    q = statistics.quantiles(per_letter, n=20)
    print(
        f"letters: {len(docs)} rendered ({datetime.now(UTC):%Y-%m-%d}), mix of 4 outcomes x 2 recipients, "
        f"1-6 services, 1-4 unmet criteria"
    )
    print(f"  {len(docs) / wall:.0f} letters/s by the wall clock ({wall:.2f} s), {1000 / mean:.0f} per CPU-second")
    print(
        f"  CPU per letter: mean {mean:.2f} ms, p50 {statistics.median(per_letter):.2f} ms, p95 {q[18]:.2f} ms "
        f"(budget {BUDGET_MS:.0f} ms)"
    )
    return 0 if mean <= BUDGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
