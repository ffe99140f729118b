"""Clinical review through the running system: intake, clinical and the sandbox MAC.

Packets are submitted through intake's partner API; validation's outcome is published as validation will
publish it, so each packet reaches `clinical_queue`; clinical assigns, people review through clinical's API
with gateway-signed tokens, and intake applies T7-T12 and the changes in place. Each test uses a service of
its own and reviewers who review only that service, so the tests do not take each other's cases.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from wiser_contracts import messages as m
from wiser_contracts import topology
from wiser_servicekit.fixtures import packet_body
from wiser_servicekit.identity import issue_service_token
from wiser_servicekit.testing import BusProbe, Producers

from .conftest import FIXTURES, PRIVATE_KEYS, wait_ready

UTN = re.compile(r"^[A-Z0-9]{2}[AH][0-9]{11}$")
PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >>"
    b" endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)
ALL = ("NJ", "OH", "OK", "TX", "AZ", "WA")
FAR = (date.today() + timedelta(days=700)).isoformat()


class Desk:
    """The people and the partner of one test, talking to the running system."""

    def __init__(self, system: Any, http: httpx.AsyncClient, partner_token: str, producers: Producers) -> None:
        self.system, self.http, self.producers = system, http, producers
        self.partner = {"Authorization": f"Bearer {partner_token}"}
        self.run_tag = uuid.uuid4().hex[:6]

    def as_(self, user: str, role: str) -> dict[str, str]:
        return self.system.staff(role, user=user)

    async def profile(
        self, user: str, role: str, service: str, *, states: tuple[str, ...] = ALL, expires: str = FAR,
        capacity: int = 10, specialties: tuple[str, ...] = (),
    ) -> None:  # fmt: skip
        body = {
            "display_name": user,
            "role": role,
            "services": [service],
            "licences": [{"state": s, "expires": expires} for s in states],
            "capacity": capacity,
            "specialties": list(specialties),
        }
        r = await self.http.put(
            f"{self.system.clinical_url}/api/v1/reviewers/{user}", json=body, headers=self.as_("sup", "supervisor")
        )
        assert r.status_code == 200, r.text

    async def submit(self, codes: tuple[str, ...], dx: str = "M54.16", **over: Any) -> uuid.UUID:
        body = packet_body("Quillon", "Brightwater", code=codes[0], dx=dx, **over)
        body["services"] = [{**body["services"][0], "code": c} for c in codes]
        r = await self.http.post(
            f"{self.system.url}/api/v1/packets",
            headers=self.partner,
            data={"packet": json.dumps(body)},
            files=[("documents", ("clinical-notes.pdf", PDF, "application/pdf"))],
        )
        assert r.status_code == 201, r.text
        return uuid.UUID(r.json()["packet_id"])

    async def to_queue(self, pid: uuid.UUID) -> None:
        await self.wait_state(pid, "validating")
        await self.producers.publish(m.PacketValidated(packet_id=pid, producer="validation", run=1, outcome="passed"))

    async def packet(self, pid: uuid.UUID) -> dict[str, Any]:
        r = await self.http.get(
            f"{self.system.ops_url}/api/v1/ops/packets/{pid}", headers=self.as_("sup", "supervisor")
        )
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    async def wait_state(self, pid: uuid.UUID, state: str, timeout: float = 30) -> dict[str, Any]:
        return await self.until(lambda d: d["state"] == state, pid, timeout)

    async def until(self, check: Any, pid: uuid.UUID, timeout: float = 30) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            d = await self.packet(pid)
            if check(d):
                return d
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{pid}: condition not met; state {d['state']}")
            await asyncio.sleep(0.1)

    async def case(self, pid: uuid.UUID, user: str = "sup", role: str = "supervisor") -> dict[str, Any]:
        r = await self.http.get(f"{self.system.clinical_url}/api/v1/cases/{pid}", headers=self.as_(user, role))
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    async def holder(self, pid: uuid.UUID, timeout: float = 30) -> str:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            # The case itself: the queue comes a page at a time, by time left, and other tests' cases fill it.
            r = await self.http.get(
                f"{self.system.clinical_url}/api/v1/cases/{pid}", headers=self.as_("sup", "supervisor")
            )
            row = r.json() if r.status_code == 200 else None
            if row and row["assigned_to"]:
                return str(row["assigned_to"])
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{pid} not assigned: {row}")
            await asyncio.sleep(0.1)

    async def post(self, path: str, user: str, role: str, body: Any = None, method: str = "POST") -> httpx.Response:
        return await self.http.request(
            method, f"{self.system.clinical_url}/api/v1{path}", json=body, headers=self.as_(user, role)
        )

    async def answer_all(self, pid: uuid.UUID, user: str, role: str, unmet: dict[str, str] | None = None) -> None:
        case = await self.case(pid, user, role)
        doc = case["documents"][0]["document_id"]
        answers = [
            {
                "criterion_id": item["criterion_id"],
                "answer": (unmet or {}).get(item["criterion_id"], "met"),
                "evidence": [{"document_id": doc, "page": 1, "quote": "documented in the clinical notes"}],
                "note": "",
            }
            for item in case["checklist"]["items"]
        ]
        r = await self.post(f"/cases/{pid}/checklist", user, role, {"answers": answers}, method="PUT")
        assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
async def desk(clinical_system: Any) -> Any:
    producers = Producers(clinical_system.infra)
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.post(
            f"{clinical_system.url}/oauth/token",
            data={"grant_type": "client_credentials", "client_id": "demo-partner", "client_secret": "demo-secret"},
        )
        yield Desk(clinical_system, http, r.json()["access_token"], producers)
    await producers.close()


async def test_a_nurse_affirms_and_the_mac_utn_arrives_once(desk: Desk, clinical_system: Any) -> None:
    await desk.profile("nurse-esi", "clinical_reviewer", "epidural_steroid_injections")
    async with BusProbe(clinical_system.infra.amqp_url, ("clinical.#",)) as probe:
        pid = await desk.submit(("64483",))
        await desk.to_queue(pid)
        assert await desk.holder(pid) == "nurse-esi"
        await desk.wait_state(pid, "clinical_review")
        case = await desk.case(pid, "nurse-esi", "clinical_reviewer")
        assert case["packet"]["beneficiary"]["last_name"] == "Quillon"  # read from intake, not a copy
        doc = case["documents"][0]["document_id"]
        r = await desk.http.get(
            f"{clinical_system.clinical_url}/api/v1/cases/{pid}/documents/{doc}",
            headers=desk.as_("nurse-esi", "clinical_reviewer"),
        )
        assert r.status_code == 200 and r.content.startswith(b"%PDF")
        r = await desk.post(f"/cases/{pid}/affirm", "nurse-esi", "clinical_reviewer", {})
        assert r.status_code == 422, r.text  # nothing answered yet
        await desk.answer_all(pid, "nurse-esi", "clinical_reviewer")
        r = await desk.post(f"/cases/{pid}/affirm", "nurse-esi", "clinical_reviewer", {"rationale": "criteria met"})
        assert r.status_code == 200, r.text
        done = await desk.until(lambda d: d["state"] == "determined" and d["utn"], pid)
        assert done["outcome"] == "affirmed" and UTN.match(done["utn"])
        await probe.wait_for("clinical.utn.assigned", pid)
        await asyncio.sleep(1.5)
        assert len(probe.of_type("clinical.utn.assigned", pid)) == 1
    r = await desk.http.get(
        f"{clinical_system.clinical_url}/api/v1/determinations/{pid}", headers=desk.as_("aud", "auditor")
    )
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["outcome"] == "affirmed" and d["utn"] == done["utn"] and d["decided_by_role"] == "clinical_reviewer"
    assert d["lines"][0]["code"] == "64483" and d["lines"][0]["description"]
    # Services (letters) read it with their own token; a partner's token gets nothing from clinical.
    service = issue_service_token(PRIVATE_KEYS["validation"], "wiser-validation")
    r = await desk.http.get(
        f"{clinical_system.clinical_url}/api/v1/determinations/{pid}", headers={"Authorization": f"Bearer {service}"}
    )
    assert r.status_code == 200 and r.json() == d
    for path in (f"/api/v1/determinations/{pid}", "/api/v1/queue", f"/api/v1/cases/{pid}"):
        r = await desk.http.get(f"{clinical_system.clinical_url}{path}", headers=desk.partner)
        assert r.status_code == 401, (path, r.status_code)


async def test_escalated_and_non_affirmed_by_the_md_with_a_reason_per_unmet_criterion(desk: Desk) -> None:
    service = "hypoglossal_nerve_stimulation"
    await desk.profile("nurse-hgns", "clinical_reviewer", service)
    await desk.profile("md-hgns", "medical_director", service, specialties=("otolaryngology",))
    pid = await desk.submit(("64582",), dx="G47.33")
    await desk.to_queue(pid)
    assert await desk.holder(pid) == "nurse-hgns"
    case = await desk.case(pid, "nurse-hgns", "clinical_reviewer")
    bmi, psg = case["checklist"]["items"][1]["criterion_id"], case["checklist"]["items"][2]["criterion_id"]
    await desk.answer_all(pid, "nurse-hgns", "clinical_reviewer", {bmi: "not_met", psg: "not_documented"})
    no_md = {"lines": [{"code": "64582", "outcome": "non_affirmed", "unmet": [{"criterion_id": bmi, "reason": "x"}]}]}
    r = await desk.post(f"/cases/{pid}/decision", "nurse-hgns", "clinical_reviewer", no_md)
    assert r.status_code == 403, r.text
    r = await desk.post(
        f"/cases/{pid}/escalate",
        "nurse-hgns",
        "clinical_reviewer",
        {"recommendation": "non_affirmed", "rationale": "BMI 37; no sleep study in 24 months"},
    )
    assert r.status_code == 200, r.text
    await desk.wait_state(pid, "md_review")
    assert await desk.holder(pid) == "md-hgns"
    md_case = await desk.case(pid, "md-hgns", "medical_director")
    assert md_case["recommendation"]["outcome"] == "non_affirmed"
    one_reason = {
        "lines": [{"code": "64582", "outcome": "non_affirmed", "unmet": [{"criterion_id": bmi, "reason": "BMI 37"}]}]
    }
    r = await desk.post(f"/cases/{pid}/decision", "md-hgns", "medical_director", one_reason)
    assert r.status_code == 422, r.text  # the undocumented sleep study has no reason
    assert any(psg in e["field"] for e in r.json()["errors"])
    full = {
        "lines": [
            {
                "code": "64582",
                "outcome": "non_affirmed",
                "unmet": [
                    {"criterion_id": bmi, "reason": "BMI 37.2 on 2026-02-01"},
                    {"criterion_id": psg, "reason": "no polysomnography in the last 24 months"},
                ],
            }
        ],
        "rationale": "two criteria unmet",
    }
    r = await desk.post(f"/cases/{pid}/decision", "md-hgns", "medical_director", full)
    assert r.status_code == 200, r.text
    done = await desk.until(lambda d: d["state"] == "determined" and d["utn"], pid)
    assert done["outcome"] == "non_affirmed"
    r = await desk.http.get(
        f"{desk.system.clinical_url}/api/v1/determinations/{pid}", headers=desk.as_("sup", "supervisor")
    )
    unmet = r.json()["lines"][0]["unmet"]
    assert {u["criterion_id"] for u in unmet} == {bmi, psg}
    assert all(u["policy"].startswith("LCD") and u["resubmission"] and u["reason"] for u in unmet)


async def test_partially_affirmed_per_line(desk: Desk) -> None:
    service = "vertebral_augmentation"
    await desk.profile("nurse-va", "clinical_reviewer", service)
    await desk.profile("md-va", "medical_director", service, specialties=("interventional_radiology",))
    pid = await desk.submit(("22513", "22515"), dx="M81.0")
    await desk.to_queue(pid)
    assert await desk.holder(pid) == "nurse-va"
    case = await desk.case(pid, "nurse-va", "clinical_reviewer")
    pain = case["checklist"]["items"][2]["criterion_id"]
    await desk.answer_all(pid, "nurse-va", "clinical_reviewer", {pain: "not_met"})
    r = await desk.post(
        f"/cases/{pid}/escalate", "nurse-va", "clinical_reviewer",
        {"recommendation": "partially_affirmed", "rationale": "second level not painful on examination"},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert await desk.holder(pid) == "md-va"
    decision = {
        "lines": [
            {"code": "22513", "outcome": "affirmed"},
            {"code": "22515", "outcome": "non_affirmed", "unmet": [{"criterion_id": pain, "reason": "NRS 2 at L2"}]},
        ]
    }
    r = await desk.post(f"/cases/{pid}/decision", "md-va", "medical_director", decision)
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "partially_affirmed"
    done = await desk.until(lambda d: d["state"] == "determined" and d["utn"], pid)
    assert done["outcome"] == "partially_affirmed"
    lines = {ln["code"]: ln["outcome"] for ln in done["determination"]["lines"]}
    assert lines == {"22513": "affirmed", "22515": "non_affirmed"}


async def test_expedited_refused_becomes_standard_with_a_three_day_clock(desk: Desk) -> None:
    await desk.profile("nurse-knee", "clinical_reviewer", "knee_arthroscopy")
    pid = await desk.submit(("29877",), dx="M23.205", review_type="expedited", expedited_reason="pain")
    await desk.to_queue(pid)
    assert await desk.holder(pid) == "nurse-knee"
    before = await desk.packet(pid)
    assert before["review_type"] == "expedited"
    r = await desk.post(
        f"/cases/{pid}/urgency",
        "nurse-knee",
        "clinical_reviewer",
        {"confirmed": False, "reason": "no risk to function"},
    )
    assert r.status_code == 200, r.text
    after = await desk.until(lambda d: d["review_type"] == "standard", pid)
    received = datetime.fromisoformat(after["received_at"].replace("Z", "+00:00"))
    assert datetime.fromisoformat(after["due_at"].replace("Z", "+00:00")) == received + timedelta(days=3)
    partner_view = (await desk.http.get(f"{desk.system.url}/api/v1/packets/{pid}", headers=desk.partner)).json()
    assert partner_view["review_type"] == "standard"
    history = [h for h in (await desk.packet(pid))["history"] if h.get("transition") == "RECLASS"]
    assert len(history) == 1
    assert after["state"] == "clinical_review"


async def test_a_withdrawn_case_frees_its_reviewer(desk: Desk) -> None:
    await desk.profile("nurse-pp", "clinical_reviewer", "penile_prosthesis", capacity=1)
    first = await desk.submit(("54400",), dx="N52.9")
    await desk.to_queue(first)
    assert await desk.holder(first) == "nurse-pp"
    second = await desk.submit(("54401",), dx="N52.9")
    await desk.to_queue(second)
    await desk.wait_state(second, "clinical_queue")
    await asyncio.sleep(1)
    assert (await desk.case(second))["assigned_to"] is None  # the nurse is at capacity
    r = await desk.http.post(
        f"{desk.system.ops_url}/api/v1/ops/packets/{first}/withdraw",
        json={"reason": "requester withdrew"},
        headers=desk.as_("sup", "supervisor"),
    )
    assert r.status_code == 200, r.text
    assert await desk.holder(second) == "nurse-pp"
    assert (await desk.case(first))["status"] == "closed"


async def test_two_reviewers_taking_one_case_one_wins(desk: Desk) -> None:
    service = "phrenic_nerve_stimulation"
    # Medical directors only: the system gives nurse-stage cases to nurses, so this one waits to be taken.
    await desk.profile("md-a", "medical_director", service, specialties=("pulmonology",))
    await desk.profile("md-b", "medical_director", service, specialties=("pulmonology",))
    pid = await desk.submit(("33276",), dx="G47.31")
    await desk.to_queue(pid)
    await desk.wait_state(pid, "clinical_queue")
    await asyncio.sleep(0.5)
    results = await asyncio.gather(
        desk.post(f"/cases/{pid}/take", "md-a", "medical_director"),
        desk.post(f"/cases/{pid}/take", "md-b", "medical_director"),
    )
    assert sorted(r.status_code for r in results) == [200, 409], [r.text for r in results]
    winner = next(r for r in results if r.status_code == 200).json()["assigned_to"]
    await desk.wait_state(pid, "clinical_review")
    assert await desk.holder(pid) == winner


async def test_licences_and_capacity_hold_with_100_packets_arriving_together(desk: Desk) -> None:
    service = "sacral_nerve_stimulation"
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    await desk.profile("sns-nj", "clinical_reviewer", service, states=("NJ",), capacity=30)
    await desk.profile("sns-expired", "clinical_reviewer", service, states=("NJ", "TX"), expires=yesterday, capacity=50)
    await desk.profile("sns-tx", "clinical_reviewer", service, states=("TX",), capacity=15)
    states = ["NJ"] * 70 + ["TX"] * 30
    pids = []
    for chunk in range(0, 100, 20):
        pids += await asyncio.gather(
            *(desk.submit(("64581",), dx="N39.41", state=s) for s in states[chunk : chunk + 20])
        )
    await asyncio.gather(*(desk.to_queue(p) for p in pids))
    state_of = dict(zip(pids, states, strict=True))

    async def settled() -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + 90
        while True:
            q = (
                await desk.http.get(
                    f"{desk.system.clinical_url}/api/v1/queue",
                    params={"service_id": service},
                    headers=desk.as_("sup", "supervisor"),
                )
            ).json()
            if len(q["cases"]) == 100 and sum(1 for c in q["cases"] if c["assigned_to"]) == 45:
                return q  # type: ignore[no-any-return]
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{len(q['cases'])} cases, {sum(1 for c in q['cases'] if c['assigned_to'])} held")
            await asyncio.sleep(0.5)

    q = await settled()
    held = Counter(c["assigned_to"] for c in q["cases"] if c["assigned_to"])
    assert held == {"sns-nj": 30, "sns-tx": 15}
    for c in q["cases"]:
        if c["assigned_to"] == "sns-nj":
            assert state_of[uuid.UUID(c["packet_id"])] == "NJ"
        if c["assigned_to"] == "sns-tx":
            assert state_of[uuid.UUID(c["packet_id"])] == "TX"
    loads = {r["user_id"]: (r["load"], r["capacity"]) for r in q["reviewers"]}
    assert loads["sns-nj"] == (30, 30) and loads["sns-tx"] == (15, 15) and loads["sns-expired"][0] == 0

    # Re-announcing the queue (as for a clinical deployed late) opens no second case and assigns nothing twice.
    async with BusProbe(desk.system.infra.amqp_url, ("clinical.review.#",)) as probe:
        r = await desk.http.post(
            f"{desk.system.ops_url}/api/v1/ops/packets/reannounce",
            json={"state": "clinical_queue"},
            headers=desk.as_("admin", "admin"),
        )
        assert r.status_code == 200 and r.json()["reannounced"] >= 55, r.text
        await asyncio.sleep(3)
        assert probe.of_type("clinical.review.assigned") == []
    q = await settled()
    assert Counter(c["assigned_to"] for c in q["cases"] if c["assigned_to"]) == held


async def test_mac_down_the_determination_stands_and_one_utn_follows(desk: Desk, clinical_system: Any) -> None:
    await desk.profile("nurse-ic", "clinical_reviewer", "incontinence_control_devices")
    pid = await desk.submit(("53445",), dx="N39.3")
    await desk.to_queue(pid)
    assert await desk.holder(pid) == "nurse-ic"
    await desk.answer_all(pid, "nurse-ic", "clinical_reviewer")
    sandbox = clinical_system.sandbox_url
    async with BusProbe(clinical_system.infra.amqp_url, ("clinical.utn.#",)) as probe:
        r = await desk.http.post(f"{sandbox}/_sandbox/faults", json={"peer": "mac", "mode": "down"})
        assert r.status_code < 300
        try:
            r = await desk.post(f"/cases/{pid}/affirm", "nurse-ic", "clinical_reviewer", {})
            assert r.status_code == 200, r.text
            done = await desk.wait_state(pid, "determined")
            await asyncio.sleep(3)  # the MAC is asked again and again meanwhile
            assert done["outcome"] == "affirmed" and (await desk.packet(pid))["utn"] is None
            assert probe.of_type("clinical.utn.assigned", pid) == []
        finally:
            await desk.http.delete(f"{sandbox}/_sandbox/faults")
        await probe.wait_for("clinical.utn.assigned", pid, timeout=30)
        await desk.until(lambda d: d["utn"] is not None, pid)
        await asyncio.sleep(3)
        assert len(probe.of_type("clinical.utn.assigned", pid)) == 1


async def test_a_packet_queued_before_clinical_ran_is_picked_up_when_intake_reannounces(
    desk: Desk, clinical_system: Any
) -> None:
    """As if clinical were deployed after the packet reached clinical_queue: clinical is stopped, its queues lose
    what they held, and it starts again knowing nothing of the packet; intake's re-announcement brings it."""
    import aio_pika

    await desk.profile("nurse-tn", "clinical_reviewer", "trigeminal_nerve_lesions")
    proc = next(p for p in clinical_system.procs if "wiser_clinical" in p.args and p.poll() is None)
    proc.terminate()
    proc.wait(30)
    pid = await desk.submit(("64605",), dx="G50.0")
    await desk.to_queue(pid)
    await desk.wait_state(pid, "clinical_queue")
    connection = await aio_pika.connect_robust(clinical_system.infra.amqp_url)
    async with connection:
        channel = await connection.channel()
        for i in range(topology.CLINICAL.partitions):
            queue = await channel.get_queue(topology.CLINICAL.partition_name(i), ensure=False)
            await queue.purge()
    port = clinical_system.clinical_url.rsplit(":", 1)[1]
    restarted, _ = clinical_system.start(
        "clinical-again", ["wiser_clinical", "serve"], int(port), WISER_CLINICAL_HTTP_PORT=port
    )
    wait_ready(clinical_system.clinical_url, restarted)
    r = await desk.http.get(f"{clinical_system.clinical_url}/api/v1/cases/{pid}", headers=desk.as_("sup", "supervisor"))
    assert r.status_code == 404  # clinical never heard of it
    r = await desk.http.post(
        f"{clinical_system.ops_url}/api/v1/ops/packets/reannounce",
        json={"state": "clinical_queue"},
        headers=desk.as_("admin", "admin"),
    )
    assert r.status_code == 200, r.text
    assert await desk.holder(pid) == "nurse-tn"
    await desk.wait_state(pid, "clinical_review")


def test_no_phi_in_the_logs_of_the_clinical_system(clinical_system: Any) -> None:
    """Clinical showed reviewers the beneficiary (read from intake) in every test above; no log line has it."""
    beneficiaries = json.loads((FIXTURES / "beneficiaries.json").read_text())["beneficiaries"]
    logs = clinical_system.logs()
    assert "clinical" in logs and len(logs) > 1000
    leaks = [
        f"{key} of {ben['last_name'][:1]}."
        for ben in beneficiaries
        for key in ("mbi", "first_name", "last_name", "date_of_birth")
        if ben[key] and ben[key] in logs
    ]
    assert leaks == []
