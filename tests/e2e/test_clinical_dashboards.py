"""Clinical review in a real browser on the running system (intake, validation, clinical, gateway, sandbox).

A nurse signs in, takes the next case, opens its documents, answers the checklist with evidence and affirms;
takes and escalates a second case with a recommendation; a medical director opens that case in MD review and
non-affirms its line with a reason per unmet criterion (a missing reason is refused); a supervisor reassigns a
third case. The demo users get reviewer profiles for three services of their own, so no other test's packet
is theirs.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from typing import Any

import httpx
import pytest

from wiser_servicekit.fixtures import packet_body

from .conftest import ROOT
from .test_dashboards import CHROMIUM, browser, signed_in  # noqa: F401 - the browser fixture
from .test_validation import PDF

pytestmark = pytest.mark.skipif(
    not __import__("shutil").which(CHROMIUM) and not __import__("os").path.exists(CHROMIUM),
    reason="Chromium is installed by `make test` (apt-get install chromium)",
)
SERVICES = ("trigeminal_nerve_lesions", "incontinence_control_devices", "phrenic_nerve_stimulation")
CODES = (("64605", "G50.0"), ("53445", "N39.3"), ("33276", "G47.31"))
FAR = "2030-12-31"


def gateway_ids(full_system: Any, *names: str) -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, "-m", "wiser_gateway", "user-ids", *names],
        cwd=ROOT,
        env=full_system.env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


async def profiles(full_system: Any, ids: dict[str, str]) -> None:
    licences = [{"state": s, "expires": FAR} for s in ("NJ", "OH", "OK", "TX", "AZ", "WA")]
    people = {
        ids["clinical_reviewer"]: ("Nurse One", "clinical_reviewer", [], False),
        "nurse-two": ("Nurse Two", "clinical_reviewer", [], False),
        ids["medical_director"]: ("Doctor Md", "medical_director", ["neurology", "urology", "pulmonology"], True),
    }
    async with httpx.AsyncClient(timeout=30) as c:
        for user_id, (name, role, specialties, auto) in people.items():
            body = {
                "display_name": name,
                "role": role,
                "services": list(SERVICES),
                "licences": licences,
                "capacity": 5,
                "specialties": specialties,
                "auto_assign": auto,
            }
            r = await c.put(
                f"{full_system.clinical_url}/api/v1/reviewers/{user_id}",
                json=body,
                headers=full_system.staff("supervisor"),
            )
            assert r.status_code == 200, r.text


async def _partner(c: httpx.AsyncClient) -> dict[str, str]:
    token = (
        await c.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": "demo-partner", "client_secret": "demo-secret"},
        )
    ).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


async def submit(full_system: Any, code: str, dx: str) -> str:
    """Submit one clean packet as the demo partner; its id."""
    async with httpx.AsyncClient(base_url=full_system.url, timeout=30) as c:
        r = await c.post(
            "/api/v1/packets",
            headers=await _partner(c),
            data={"packet": json.dumps(packet_body("Quillon", "Brightwater", code=code, dx=dx))},
            files=[("documents", ("clinical-notes.pdf", PDF, "application/pdf"))],
        )
        assert r.status_code == 201, r.text
        return str(r.json()["packet_id"])


async def submit_to_queue(full_system: Any) -> list[str]:
    """Three clean packets, one per service, each waiting in clinical_queue (in this order)."""
    pids = []
    async with httpx.AsyncClient(base_url=full_system.url, timeout=30) as c:
        auth = await _partner(c)
        for code, dx in CODES:
            pid = await submit(full_system, code, dx)
            for _ in range(300):
                state = (await c.get(f"/api/v1/packets/{pid}", headers=auth)).json()["state"]
                if state == "clinical_queue":
                    break
                await asyncio.sleep(0.1)
            assert state == "clinical_queue", state
            pids.append(pid)
    return pids


async def answer(page: Any, answers: dict[int, str]) -> None:
    """Answer each criterion (index -> met / not_met / not_documented), with evidence for the met ones."""
    labels = {"met": "Met", "not_met": "Not met", "not_documented": "Not documented"}
    criteria = page.locator("fieldset.criterion")
    for i in range(await criteria.count()):
        fs = criteria.nth(i)
        value = answers.get(i, "met")
        await fs.get_by_label(labels[value], exact=True).check()
        if value == "met":
            await fs.locator("select").select_option(index=1)
            await fs.get_by_label(re.compile("^Page for")).fill("1")
            await fs.get_by_label(re.compile("^Quote for")).fill("documented in the clinical notes")
        else:
            await fs.get_by_label(re.compile("^Note for")).fill("not in the records sent")
    await page.get_by_role("button", name="Save checklist").click()
    await page.get_by_text("Checklist saved.").wait_for()


async def test_nurse_md_and_supervisor_work_cases_in_the_browser(browser, full_system) -> None:  # noqa: F811
    ids = gateway_ids(full_system, "clinical_reviewer", "medical_director")
    await profiles(full_system, ids)
    first, second, third = await submit_to_queue(full_system)
    base = full_system.gateway_url

    nurse = await signed_in(browser, base, "clinical_reviewer")
    await nurse.goto("/clinical")
    await nurse.get_by_role("button", name="Take next case").click()
    await nurse.wait_for_url(re.compile(f"/clinical/cases/{first}"))
    await nurse.get_by_text("The case is yours.").wait_for()
    link = nurse.get_by_role("link", name="clinical-notes.pdf")
    doc = await nurse.context.request.get(base + (await link.get_attribute("href")))
    assert doc.status == 200 and (await doc.body()).startswith(b"%PDF")
    assert await nurse.locator("iframe.pdf").count() == 1
    await answer(nurse, {})
    await nurse.get_by_role("button", name="Affirm").click()
    await nurse.get_by_text("Affirmed: the determination is recorded").wait_for()
    assert "affirmed" in await nurse.locator("#determination").inner_text()

    await nurse.goto("/clinical")
    await nurse.get_by_role("button", name="Take next case").click()
    await nurse.wait_for_url(re.compile(f"/clinical/cases/{second}"))
    await answer(nurse, {1: "not_met", 2: "not_documented"})
    await nurse.get_by_label("Recommendation").select_option("non_affirmed")
    await nurse.get_by_label("Rationale", exact=True).last.fill("Behavioral therapy not tried; no 12-month history")
    await nurse.get_by_role("button", name="Escalate").click()
    await nurse.get_by_text("Escalated to a medical director.").wait_for()
    assert (await nurse.locator("#case-stage").inner_text()) == "MD review"

    md = await signed_in(browser, base, "medical_director")
    await md.goto("/clinical/md")
    row = md.locator(f"tr[data-packet='{second}']")
    await row.wait_for()
    assert "Doctor Md" in await row.locator("[data-role=reviewer]").inner_text()
    await row.get_by_role("link").first.click()
    await md.wait_for_url(re.compile(f"/clinical/cases/{second}"))
    assert "Behavioral therapy not tried" in await md.locator(".recommendation").inner_text()
    await md.get_by_label(re.compile("^Line 53445")).select_option("non_affirmed")
    reasons = md.locator(".line-decision textarea")
    assert await reasons.count() == 2  # one per criterion the nurse found unmet
    await reasons.nth(0).fill("No trial of behavioral or drug therapy in the records")
    await md.get_by_role("button", name="Record decision").click()
    alert = md.get_by_role("alert")
    await alert.wait_for()
    assert "reason" in (await alert.inner_text()).lower()  # the second unmet criterion has none: refused
    await md.get_by_label(re.compile("^Line 53445")).select_option("non_affirmed")
    await reasons.nth(0).fill("No trial of behavioral or drug therapy in the records")
    await reasons.nth(1).fill("Incontinence of 12 months not documented")
    await md.get_by_role("button", name="Record decision").click()
    await md.get_by_text("Decision recorded").wait_for()
    assert "non affirmed" in await md.locator("#determination").inner_text()

    sup = await signed_in(browser, base, "supervisor")
    await sup.goto("/clinical")
    row = sup.locator(f"tr[data-packet='{third}']")
    assert "waiting" in await row.locator("[data-role=reviewer]").inner_text()
    await sup.evaluate("window.__stillTheSamePage = true")

    await nurse.goto("/clinical")
    take_third = nurse.locator(f"tr[data-packet='{third}']").get_by_role("button", name=re.compile("^Take "))
    await take_third.click()
    await nurse.wait_for_url(re.compile(f"/clinical/cases/{third}"))

    # The supervisor's queue follows the assignment (T7) live, without a reload.
    await row.locator("[data-role=reviewer]", has_text="Nurse One").wait_for(timeout=15000)
    assert await sup.evaluate("window.__stillTheSamePage === true")
    options = await row.locator("select option").all_inner_texts()
    assert options[0] == "Choose a reviewer" and not any(o.startswith("Nurse One") for o in options)  # the holder
    await row.locator("select").select_option("nurse-two")
    # Another packet's transition refreshes the live queue between choosing and clicking: the choice survives it
    # (it used to reset to the first reviewer, and the click reassigned the case to whoever that was).
    await sup.evaluate("document.querySelector('#results table.clinical').dataset.before = 'refresh'")
    await submit(full_system, *CODES[0])
    await sup.locator("#results table.clinical[data-before]").wait_for(state="detached", timeout=15000)
    assert await row.locator("select").input_value() == "nurse-two"
    await row.get_by_role("button", name=re.compile("^Reassign")).click()
    await sup.get_by_text("The case was assigned.").wait_for()
    await sup.goto("/clinical")
    row = sup.locator(f"tr[data-packet='{third}']")
    assert "Nurse Two" in await row.locator("[data-role=reviewer]").inner_text()

    async with httpx.AsyncClient(timeout=30) as c:
        for pid, outcome in ((first, "affirmed"), (second, "non_affirmed")):
            for _ in range(200):
                d = (
                    await c.get(f"{full_system.ops_url}/api/v1/ops/packets/{pid}", headers=full_system.staff("auditor"))
                ).json()
                if d["state"] in ("determined", "letter_review") and d["utn"]:  # letters may have drafted
                    break
                await asyncio.sleep(0.1)
            assert d["state"] in ("determined", "letter_review") and d["outcome"] == outcome and d["utn"]
        history = (
            await c.get(f"{full_system.ops_url}/api/v1/ops/packets/{third}", headers=full_system.staff("auditor"))
        ).json()["history"]
        assert [h["transition"] for h in history][-1] == "REASSIGN"
    for page in (nurse, md, sup):
        await page.context.close()
