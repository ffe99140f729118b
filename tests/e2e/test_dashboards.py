"""The dashboards in a real browser (Playwright driving Debian's Chromium) on the running system.

An ops_tier1 user signs in, finds a packet that failed MBI_FORMAT by its name,
opens it, sees the PDF, corrects the MBI, and watches it move to clinical_queue
on the packets page without a reload; ops_tier1 cannot dismiss; a signed-out
visitor is sent to sign-in; the audit page shows all of it.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from .test_validation import BENS, PDF, packet

CHROMIUM = os.environ.get("WISER_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHARED: dict[str, Any] = {}

pytestmark = pytest.mark.skipif(
    not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM),
    reason="Chromium is installed by `make test` (apt-get install chromium)",
)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        await b.close()


async def signed_in(browser: Any, base: str, username: str) -> Any:
    context = await browser.new_context(base_url=base, viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto("/signin")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill("demo-password")
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(re.compile(r".*/packets$"))
    return page


async def submit_mbi_typo(full_system: Any, code: str = "22554", dx: str = "M50.12") -> str:
    """A packet whose MBI has a typo; each test uses its own service so none is another's duplicate."""
    async with httpx.AsyncClient(base_url=full_system.url, timeout=30) as c:
        token = (
            await c.post(
                "/oauth/token",
                data={"grant_type": "client_credentials", "client_id": "demo-partner", "client_secret": "demo-secret"},
            )
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        body = packet("Ravensby", "Okonkwo", code=code, dx=dx, **{"beneficiary.mbi": "6A47QQ8CP7S"})
        r = await c.post(
            "/api/v1/packets",
            headers=auth,
            data={"packet": json.dumps(body)},
            files=[("documents", ("clinical-note.pdf", PDF, "application/pdf"))],
        )
        pid = str(r.json()["packet_id"])
        for _ in range(300):
            if (await c.get(f"/api/v1/packets/{pid}", headers=auth)).json()["state"] == "manual_review":
                return pid
            await asyncio.sleep(0.1)
    raise AssertionError("the packet never reached manual_review")


async def test_a_signed_out_visitor_is_sent_to_sign_in(browser, full_system) -> None:
    context = await browser.new_context(base_url=full_system.gateway_url)
    page = await context.new_page()
    for path in ("/packets", "/review", "/audit"):
        await page.goto(path)
        assert "/signin" in page.url
        await page.get_by_label("Username").wait_for()
    await context.close()


async def test_ops_tier1_finds_opens_and_corrects_a_packet_and_sees_it_move_live(browser, full_system) -> None:
    pid = await submit_mbi_typo(full_system)
    SHARED["packet_id"] = pid
    watcher = await signed_in(browser, full_system.gateway_url, "ops_tier1")
    await watcher.get_by_label("Search").fill("Ravensby")
    await watcher.get_by_role("button", name="Search").click()
    row = watcher.locator(f"tr[data-packet='{pid}']")
    await row.wait_for()
    assert "manual review" in (await row.locator("[data-role=state]").inner_text())
    await watcher.evaluate("window.__stillTheSamePage = true")

    worker = await watcher.context.new_page()
    await worker.goto("/packets?q=Ravensby")
    await worker.locator(f"tr[data-packet='{pid}'] a").click()
    await worker.wait_for_url(f"**/packets/{pid}")
    await worker.get_by_role("tab", name="Documents").click()
    frame = worker.locator("iframe.pdf")
    await frame.wait_for()
    src = await frame.get_attribute("src")
    doc = await worker.request.get(src)
    assert doc.status == 200 and doc.headers["content-type"] == "application/pdf"
    assert (await doc.body()).startswith(b"%PDF")
    await worker.get_by_role("link", name="Review and correct").click()
    await worker.wait_for_url(f"**/review/{pid}")
    mbi = worker.get_by_label("MBI", exact=True)
    assert await mbi.get_attribute("aria-invalid") == "true"
    assert await worker.get_by_role("button", name="Dismiss packet").count() == 0
    await mbi.fill(BENS["Ravensby"]["mbi"])
    await worker.get_by_label("Reason for changing MBI").fill("MBI read again from the card")
    await worker.get_by_role("button", name="Submit corrections").click()
    await worker.wait_for_url(re.compile(rf".*/packets/{pid}\?notice=corrected"))

    await (
        watcher.locator(f"tr[data-packet='{pid}'] [data-role=state]")
        .filter(has_text="clinical queue")
        .wait_for(timeout=15000)
    )
    assert await watcher.evaluate("window.__stillTheSamePage === true")
    await watcher.context.close()


async def test_ops_tier1_cannot_dismiss(browser, full_system) -> None:
    pid = await submit_mbi_typo(full_system, "64483", "M54.16")
    page = await signed_in(browser, full_system.gateway_url, "ops_tier1")
    await page.goto(f"/review/{pid}")
    assert await page.get_by_role("button", name="Dismiss packet").count() == 0
    csrf = await page.locator("input[name=csrf_token]").first.get_attribute("value")
    r = await page.request.post(
        f"/review/{pid}/dismiss",
        form={"csrf_token": csrf, "code": "INVALID_BENEFICIARY", "note": "trying anyway"},
        max_redirects=0,
    )
    assert r.status == 403
    supervisor = await signed_in(browser, full_system.gateway_url, "ops_tier2")
    await supervisor.goto(f"/review/{pid}")
    assert await supervisor.get_by_role("button", name="Dismiss packet").count() == 1
    await page.context.close()
    await supervisor.context.close()


async def test_the_dismissal_form_offers_validations_reasons_and_the_decision_keeps_their_texts(
    browser, full_system
) -> None:
    pid = await submit_mbi_typo(full_system, "64581", "N39.41")
    async with httpx.AsyncClient(timeout=30) as c:
        served = (
            await c.get(
                f"{full_system.validation_url}/api/v1/reference/dismissal-reasons",
                headers=full_system.staff("supervisor"),
            )
        ).json()["reasons"]
    page = await signed_in(browser, full_system.gateway_url, "supervisor")
    await page.goto(f"/review/{pid}")
    offered = await page.locator("select#code option").evaluate_all("options => options.map(o => o.value)")
    assert offered == [r["code"] for r in served]
    await page.select_option("select#code", "INVALID_BENEFICIARY")
    await page.fill("textarea#note", "deceased per SSA")
    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await page.get_by_role("button", name="Dismiss packet").click()
    await page.wait_for_load_state()
    async with httpx.AsyncClient(base_url=full_system.url, timeout=30) as c:
        for _ in range(100):
            detail = (
                await c.get(f"{full_system.ops_url}/api/v1/ops/packets/{pid}", headers=full_system.staff("auditor"))
            ).json()
            if detail["state"] in ("determined", "letter_review"):  # letters drafts a dismissal at once
                break
            await asyncio.sleep(0.1)
    chosen = next(r for r in served if r["code"] == "INVALID_BENEFICIARY")
    assert detail["state"] in ("determined", "letter_review")
    assert (detail["dismissal"]["reason"], detail["dismissal"]["corrective_action"]) == (
        chosen["reason"],
        chosen["corrective_action"],
    )
    await page.context.close()


async def test_the_audit_page_shows_the_views_and_the_correction(browser, full_system) -> None:
    pid = SHARED.get("packet_id")
    assert pid, "runs after the correction test"
    page = await signed_in(browser, full_system.gateway_url, "auditor")
    await page.goto(f"/audit?packet_id={pid}")
    table = page.locator("table.audit tbody")
    text = await table.inner_text()
    for action in ("packet.view", "document.view", "packet.correct"):
        assert action in text, action
    assert "ops_tier1" in text
    await page.goto("/packets")
    assert await page.get_by_role("link", name="Audit").count() == 1
    await page.context.close()


async def test_a_correction_on_a_stale_page_shows_a_conflict(browser, full_system) -> None:
    pid = await submit_mbi_typo(full_system, "29877", "M17.11")
    first = await signed_in(browser, full_system.gateway_url, "ops_tier1")
    second = await signed_in(browser, full_system.gateway_url, "ops_tier2")
    for page in (first, second):
        await page.goto(f"/review/{pid}")
    await first.get_by_label("MBI", exact=True).fill(BENS["Ravensby"]["mbi"])
    await first.get_by_label("Reason for changing MBI").fill("read from the card")
    await first.get_by_role("button", name="Submit corrections").click()
    await first.wait_for_url(re.compile(rf".*/packets/{pid}\?notice=corrected"))

    await second.get_by_label("Practitioner PTAN", exact=True).fill("NJ100999")
    await second.get_by_label("Reason for changing Practitioner PTAN").fill("from the form")
    await second.get_by_role("button", name="Submit corrections").click()
    await second.wait_for_url(re.compile(rf".*/review/{pid}\?conflict=1"))
    alert = second.get_by_role("alert").filter(has_text="Someone changed this packet")
    assert await alert.count() == 1
    await first.context.close()
    await second.context.close()
