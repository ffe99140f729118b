"""Validation through the running system: each row of DOMAIN.md's table, corrections, peers down, duplicates.

Packets are built from the shared fixtures and submitted through intake's
partner API; the sandbox peers answer HETS, NPPES and PECOS from the fixtures.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest

from wiser_servicekit.fixtures import packet_body
from wiser_servicekit.identity import ON_BEHALF_HEADER

from .conftest import FIXTURES

BENS = {b["last_name"]: b for b in json.loads((FIXTURES / "beneficiaries.json").read_text())["beneficiaries"]}
PROV = json.loads((FIXTURES / "providers.json").read_text())
PRACS = {p["last_name"]: p for p in PROV["practitioners"]}
FACS = {f["state"]: f for f in PROV["facilities"]}
PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >>"
    b" endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)


def packet(
    ben: str,
    prac: str,
    code: str = "64581",
    dx: str = "N39.41",
    state: str | None = None,
    dos_days: int = 30,
    **over: Any,
) -> dict[str, Any]:
    body = packet_body(ben, prac, code=code, dx=dx, state=state, dos_days=dos_days, **over)
    body["external_ref"] = over.get("external_ref") or "VAL-" + uuid.uuid4().hex[:8]
    return body


def left_validating_to(view: dict[str, Any]) -> str:
    """The state validation's outcome put the packet in (a dismissed packet goes on to its letters at once)."""
    moves = [h["to"] for h in view["history"] if h["from"] == "validating"]
    return moves[-1] if moves else view["state"]


class Client:
    def __init__(self, system: Any, http: httpx.AsyncClient, token: str) -> None:
        self.system, self.http = system, http
        self.partner = {"Authorization": f"Bearer {token}"}

    async def submit(self, body: dict[str, Any], docs: bool = True) -> str:
        if docs:
            r = await self.http.post(
                f"{self.system.url}/api/v1/packets",
                headers=self.partner,
                data={"packet": json.dumps(body)},
                files=[("documents", ("note.pdf", PDF, "application/pdf"))],
            )
        else:
            r = await self.http.post(f"{self.system.url}/api/v1/packets", headers=self.partner, json=body)
        assert r.status_code == 201, r.text
        return str(r.json()["packet_id"])

    async def settled(self, pid: str, timeout: float = 30) -> dict[str, Any]:
        """Wait until the packet has left `validating`; return intake's partner view."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            view = (await self.http.get(f"{self.system.url}/api/v1/packets/{pid}", headers=self.partner)).json()
            if view["state"] not in ("received", "validating"):
                return view  # type: ignore[no-any-return]
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{pid} still {view['state']}")
            await asyncio.sleep(0.1)

    async def findings(self, pid: str) -> dict[str, Any]:
        r = await self.http.get(
            f"{self.system.validation_url}/api/v1/validation/packets/{pid}", headers=self.system.staff("ops_tier1")
        )
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    async def codes(self, pid: str, run: int = -1) -> set[str]:
        report = await self.findings(pid)
        return {f["code"] for f in report["runs"][run]["findings"] if f["severity"] in ("dismiss", "correction")}

    async def fault(self, peer: str, mode: str) -> None:
        r = await self.http.post(f"{self.system.sandbox_url}/_sandbox/faults", json={"peer": peer, "mode": mode})
        assert r.status_code < 300, r.text

    async def clear_faults(self) -> None:
        await self.http.delete(f"{self.system.sandbox_url}/_sandbox/faults")


@pytest.fixture(scope="module")
async def client(full_system: Any) -> Any:
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.post(
            f"{full_system.url}/oauth/token",
            data={"grant_type": "client_credentials", "client_id": "demo-partner", "client_secret": "demo-secret"},
        )
        yield Client(full_system, http, r.json()["access_token"])


# name: (packet, expected state, expected code or None, docs)
ROWS: dict[str, tuple[dict[str, Any], str, str | None, bool]] = {
    # a clean packet: a practitioner/beneficiary/service triple no other e2e test leaves open (DUPLICATE_REQUEST)
    "a clean packet": (packet("Quillon", "Okonkwo"), "clinical_queue", None, True),
    "state not served": (packet("Sorelli", "Brightwater", state="NY"), "determined", "WRONG_JURISDICTION", True),
    "service not under WISeR": (
        packet("Wrenfield", "Brightwater", code="99213", dx="M17.11"),
        "determined",
        "NON_WISER_SERVICE",
        True,
    ),
    "malformed MBI": (
        packet("Quillon", "Okonkwo", **{"beneficiary.mbi": "9S06YC0QA26"}),
        "manual_review",
        "MBI_FORMAT",
        True,
    ),
    "name does not match eligibility": (
        packet("Ravensby", "Brightwater", **{"beneficiary.first_name": "Quin"}),
        "manual_review",
        "BENEFICIARY_MISMATCH",
        True,
    ),
    "beneficiary unknown to HETS": (packet("Ashgrove", "Brightwater"), "determined", "INVALID_BENEFICIARY", True),
    "beneficiary deceased": (packet("Dunmore", "Brightwater"), "determined", "INVALID_BENEFICIARY", True),
    "Medicare Advantage": (packet("Calloway", "Brightwater"), "determined", "NOT_ORIGINAL_MEDICARE", True),
    "Part A only": (packet("Verrant", "Brightwater"), "determined", "NOT_ORIGINAL_MEDICARE", True),
    "Railroad Medicare": (packet("Fairhurst", "Brightwater"), "determined", "NOT_ORIGINAL_MEDICARE", True),
    "Medicaid only": (packet("Castellane", "Lindqvist"), "determined", "NOT_ORIGINAL_MEDICARE", True),
    "NPI check digit wrong": (
        packet("Sorelli", "Brightwater", **{"practitioner.npi": "1151056335"}),
        "manual_review",
        "NPI_FORMAT",
        True,
    ),
    "NPI deactivated in NPPES": (packet("Sorelli", "Ostrander"), "determined", "INVALID_BILLING_INFO", True),
    "practitioner not enrolled in PECOS": (packet("Sorelli", "Fairweather"), "determined", "INELIGIBLE_PROVIDER", True),
    "practitioner holds a gold card": (packet("Sorelli", "Pryce"), "determined", "EXEMPT_PROVIDER", True),
    "PTAN missing": (
        packet("Quillon", "Brightwater", code="29877", dx="M17.11", **{"practitioner.ptan": None}),
        "manual_review",
        "MISSING_ELEMENT",
        True,
    ),
    "no clinical document": (packet("Ravensby", "Okonkwo"), "manual_review", "MISSING_DOCUMENTATION", False),
    "date of service in the past": (
        # Two days back: the check judges in the state's own date, and after midnight UTC yesterday-in-UTC is
        # still today in New Jersey.
        packet("Quillon", "Brightwater", code="64483", dx="M54.16", dos_days=-2),
        "manual_review",
        "DOS_INVALID",
        True,
    ),
    # DOMAIN.md's changed rows (issue 9): eligible types, inpatient/emergency settings, HETS AAA answers.
    "a physician assistant's clean packet": (packet("Marwood", "Quenby"), "clinical_queue", None, True),
    "a chiropractor": (packet("Sorelli", "Halvorsen"), "determined", "INELIGIBLE_PROVIDER", True),
    "inpatient setting (POS 21)": (
        packet("Westbrook", "Montague", place_of_service="21"),
        "determined",
        "NON_WISER_SERVICE",
        True,
    ),
    "emergency department (POS 23)": (
        packet("Mercer", "Whitcombe", place_of_service="23"),
        "determined",
        "NON_WISER_SERVICE",
        True,
    ),
    "date of birth does not match eligibility": (
        packet("Brennick", "Montague", code="22554", dx="M50.12", **{"beneficiary.date_of_birth": "1949-11-08"}),
        "manual_review",
        "BENEFICIARY_MISMATCH",
        True,
    ),
    "resubmission of a UTN we never issued": (
        packet("Wrenfield", "Brightwater", submission_type="resubmission", previous_utn="JLA26000000001"),
        "manual_review",
        "RESUBMISSION_MISMATCH",
        True,
    ),
}


@pytest.mark.parametrize("row", list(ROWS))
async def test_each_row_of_the_validation_table(row: str, client: Client) -> None:
    body, state, code, docs = ROWS[row]
    pid = await client.submit(body, docs=docs)
    view = await client.settled(pid)
    assert left_validating_to(view) == state, (row, view["state"], await client.codes(pid))
    found = await client.codes(pid)
    if code is None:
        assert found == set()
    else:
        assert found == {code}, row
    if state == "determined":
        assert view["determination"]["outcome"] == "dismissed"
        assert view["dismissal"]["code"] == code
        assert [d["code"] for d in view["dismissal"]["all"]] == [code]


async def test_a_dismissal_carries_the_texts_of_validations_reference_list(client: Client) -> None:
    body, _, _, docs = next(r for r in ROWS.values() if r[1] == "determined")
    pid = await client.submit(body, docs=docs)
    view = await client.settled(pid)
    assert left_validating_to(view) == "determined"
    served = await client.http.get(
        f"{client.system.validation_url}/api/v1/reference/dismissal-reasons", headers=client.system.staff("supervisor")
    )
    texts = {r["code"]: r for r in served.json()["reasons"]}[view["dismissal"]["code"]]
    assert view["dismissal"]["reason"] == texts["reason"] and texts["reason"]
    assert view["dismissal"]["corrective_action"] == texts["corrective_action"] and texts["corrective_action"]


async def test_a_corrected_mbi_is_validated_again_and_goes_on(client: Client) -> None:
    pid = await client.submit(packet("Sorelli", "Okonkwo", **{"beneficiary.mbi": "8UJ5MQ8KV7"}))
    assert (await client.settled(pid))["state"] == "manual_review"
    assert await client.codes(pid) == {"MBI_FORMAT"}
    staff = client.system.staff("ops_tier1")
    detail = await client.http.get(f"{client.system.ops_url}/api/v1/ops/packets/{pid}", headers=staff)
    fix = {"corrections": [{"field": "beneficiary.mbi", "value": BENS["Sorelli"]["mbi"], "reason": "typo on form"}]}
    r = await client.http.patch(
        f"{client.system.ops_url}/api/v1/ops/packets/{pid}",
        json=fix,
        headers={**staff, "If-Match": detail.headers["etag"]},
    )
    assert r.status_code == 200, r.text
    view = await client.settled(pid)
    assert view["state"] == "clinical_queue"
    report = await client.findings(pid)
    assert [(run["run"], run["outcome"]) for run in report["runs"]] == [(1, "needs_correction"), (2, "passed")]
    assert all(c["result"] in ("passed", "skipped", "failed") for c in report["runs"][1]["checks"])
    assert {c["result"] for c in report["runs"][1]["checks"]} == {"passed"}


async def test_hets_down_waits_with_retries_then_manual_review_and_an_ops_rerun_sends_it_on(client: Client) -> None:
    await client.fault("hets", "down")
    try:
        pid = await client.submit(packet("Thorne", "Lindqvist"))
        view = await client.settled(pid)
        assert view["state"] == "manual_review", (view, await client.findings(pid))
        assert await client.codes(pid) == {"PEER_UNAVAILABLE"}
    finally:
        await client.clear_faults()
    await asyncio.sleep(2.5)  # the breaker's reset window
    r = await client.http.post(
        f"{client.system.validation_url}/api/v1/validation/packets/{pid}/rerun",
        json={"reason": "HETS is back"},
        headers={
            **client.system.staff("ops_tier2"),
            ON_BEHALF_HEADER: client.system.on_behalf(pid, "intake.revalidate_packet", "ops_tier2"),
        },
    )
    assert r.status_code == 202, r.text
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        view = await client.settled(pid)
        if view["state"] == "clinical_queue":
            break
        assert asyncio.get_running_loop().time() < deadline, view["state"]
        await asyncio.sleep(0.2)
    report = await client.findings(pid)
    assert [run["outcome"] for run in report["runs"]] == ["needs_correction", "passed"]


async def test_of_two_identical_submissions_the_second_is_a_duplicate(client: Client) -> None:
    body = packet("Wrenfield", "Okonkwo")
    first = await client.submit(body)
    await asyncio.sleep(1)
    second = await client.submit(dict(body, external_ref="VAL-" + uuid.uuid4().hex[:8]))
    assert (await client.settled(first))["state"] == "clinical_queue"
    view = await client.settled(second)
    assert left_validating_to(view) == "determined" and view["dismissal"]["code"] == "DUPLICATE_REQUEST"


async def test_two_hundred_concurrent_submissions_each_leave_validating_with_one_result(client: Client) -> None:
    bens = ["Quillon", "Sorelli", "Wrenfield", "Ravensby"]
    bodies = [packet(bens[i % 4], "Okonkwo", code="22554", dx="M50.12") for i in range(200)]
    sem = asyncio.Semaphore(50)

    async def submit(body: dict[str, Any]) -> str:
        async with sem:
            return await client.submit(body, docs=False)

    pids = await asyncio.gather(*(submit(b) for b in bodies))
    views = await asyncio.gather(*(client.settled(pid, timeout=180) for pid in pids))
    assert all(left_validating_to(v) in ("clinical_queue", "manual_review", "determined") for v in views)
    reports = await asyncio.gather(*(client.findings(pid) for pid in pids))
    assert all(len(r["runs"]) == 1 for r in reports)
    for view in views:
        leaving = [h for h in view["history"] if h["from"] == "validating"]
        assert len(leaving) == 1


async def test_the_reference_data_in_force_is_visible(client: Client) -> None:
    staff = client.system.staff("auditor")
    index = (await client.http.get(f"{client.system.validation_url}/api/v1/reference", headers=staff)).json()
    assert {x["name"] for x in index["lists"]} >= {"states", "services", "diagnoses", "dismissal_reasons"}
    states = (
        await client.http.get(
            f"{client.system.validation_url}/api/v1/reference/states", params={"on": "2026-06-01"}, headers=staff
        )
    ).json()
    assert {s["state"] for s in states["states"]} == {"NJ", "OH", "OK", "TX", "AZ", "WA"}
    before = await client.http.get(
        f"{client.system.validation_url}/api/v1/reference/states", params={"on": "2025-06-01"}, headers=staff
    )
    assert before.status_code == 404


async def finding_of(client: Client, pid: str, code: str) -> dict[str, Any]:
    report = await client.findings(pid)
    return next(f for f in report["runs"][-1]["findings"] if f["code"] == code)


async def test_the_chiropractors_dismissal_says_the_provider_type_failed(client: Client) -> None:
    pid = await client.submit(packet("Ravensby", "Halvorsen"))
    view = await client.settled(pid)
    assert view["state"] == "determined" and view["dismissal"]["code"] == "INELIGIBLE_PROVIDER"
    finding = await finding_of(client, pid, "INELIGIBLE_PROVIDER")
    assert "(provider type)" in finding["message"] and "DC" in finding["message"]


async def test_a_first_name_mismatch_comes_from_hets_aaa_73(client: Client) -> None:
    """The sandbox HETS answers AAA 73 without the name on file; validation asks for a correction."""
    pid = await client.submit(
        packet("Paxley", "Lindqvist", code="22554", dx="M50.12", **{"beneficiary.first_name": "Dorien"})
    )
    view = await client.settled(pid)
    assert view["state"] == "manual_review"
    assert await client.codes(pid) == {"BENEFICIARY_MISMATCH"}
    finding = await finding_of(client, pid, "BENEFICIARY_MISMATCH")
    assert "HETS reports" in finding["message"] and "Dorian" not in json.dumps(await client.findings(pid))


async def test_a_star_in_the_last_name_reaches_a_decision(client: Client) -> None:
    """X12 has no escape: the `*` is removed from the 270; the run ends, the packet never stays in validating."""
    pid = await client.submit(packet("Tallis", "Delacroix", **{"beneficiary.last_name": "Tal*lis"}))
    view = await client.settled(pid)
    assert view["state"] in ("clinical_queue", "manual_review")
    report = await client.findings(pid)
    assert report["runs"][-1]["peers"]["hets"] == "found"  # HETS matched the cleaned name
    # The packet's name still differs from the one on file: a person corrects it.
    assert view["state"] == "manual_review" and await client.codes(pid) == {"BENEFICIARY_MISMATCH"}


async def test_hets_refusing_our_submitter_setup_is_peer_unavailable_never_the_beneficiarys_fault(
    client: Client,
) -> None:
    r = await client.http.post(
        f"{client.system.sandbox_url}/_sandbox/faults",
        json={"peer": "hets", "mode": "reject", "aaa_loop": "2100B", "aaa_code": "41"},
    )
    assert r.status_code == 200, r.text
    try:
        pid = await client.submit(packet("Ardmore", "Whitcombe"))
        view = await client.settled(pid)
    finally:
        await client.clear_faults()
    assert view["state"] == "manual_review"
    assert await client.codes(pid) == {"PEER_UNAVAILABLE"}
    assert "submitter" in (await finding_of(client, pid, "PEER_UNAVAILABLE"))["message"]


async def test_the_later_request_is_the_duplicate_even_when_it_is_validated_first(client: Client) -> None:
    """The first packet's HETS answer is slow, so the second one is validated first: receipt order decides."""
    r = await client.http.post(
        f"{client.system.sandbox_url}/_sandbox/faults",
        json={"peer": "hets", "mode": "slow", "count": 1, "delay_seconds": 1.5},
    )
    assert r.status_code == 200, r.text
    body = packet("Wrenfield", "Achterberg")
    first = await client.submit(body)
    second = await client.submit(dict(body, external_ref="VAL-" + uuid.uuid4().hex[:8]))
    later = await client.settled(second)
    earlier = await client.settled(first)
    assert later["state"] == "determined" and later["dismissal"]["code"] == "DUPLICATE_REQUEST"
    assert earlier["state"] == "clinical_queue"
    finished = {pid: (await client.findings(pid))["runs"][0]["finished_at"] for pid in (first, second)}
    assert finished[second] < finished[first]  # validated in the other order than received


async def test_no_phi_in_the_logs_of_any_service(full_system, client: Client) -> None:
    """Runs last among the full system's tests (this file is collected last): every service's log lines."""
    staff = full_system.staff("ops_tier1")
    for ben in BENS.values():
        await client.http.get(
            f"{full_system.ops_url}/api/v1/ops/packets", params={"q": ben["last_name"]}, headers=staff
        )
    logs = full_system.logs()
    assert "gateway" in logs and "validation" in logs and len(logs) > 10_000
    leaks = [
        f"{key} of {name}"
        for name, ben in BENS.items()
        for key in ("mbi", "first_name", "last_name", "date_of_birth")
        if ben[key] and ben[key] in logs
    ]
    assert leaks == []
