"""Letter generation in a real browser: a supervisor sees a drafted letter arrive without reloading, opens it (the
PDF beside its checks), rejects it with a reason (letters redrafts: version 2), rewrites a paragraph (version 3) and
approves it; the packet moves to `delivering`. An ops user sees the letters but cannot act on them."""

from __future__ import annotations

import asyncio
import json
import os
import re
import uuid
from typing import Any

import httpx

from wiser_servicekit.fixtures import packet_body

from .test_dashboards import CHROMIUM, browser, pytestmark, signed_in  # noqa: F401 (fixture and skip mark)
from .test_validation import PDF


async def _partner(full_system: Any) -> tuple[httpx.AsyncClient, dict[str, str]]:
    c = httpx.AsyncClient(base_url=full_system.url, timeout=30)
    token = (
        await c.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": "demo-partner", "client_secret": "demo-secret"},
        )
    ).json()["access_token"]
    return c, {"Authorization": f"Bearer {token}"}


async def _state(c: httpx.AsyncClient, auth: dict[str, str], pid: str, state: str, timeout: float = 40) -> None:
    for _ in range(int(timeout * 5)):
        if (await c.get(f"/api/v1/packets/{pid}", headers=auth)).json()["state"] == state:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{pid} never reached {state}")


async def test_a_supervisor_rejects_edits_and_approves_letters_and_the_packet_moves_to_delivering(
    browser: Any,  # noqa: F811 (the module's fixture)
    full_system: Any,
) -> None:
    watcher = await signed_in(browser, full_system.gateway_url, "supervisor")
    await watcher.goto("/letters")
    await watcher.get_by_role("heading", name="Letter generation").wait_for()
    await watcher.evaluate("window.__stillTheSamePage = true")

    c, auth = await _partner(full_system)
    body = packet_body("Quillon", "Pryce", code="64581", dx="N39.41")  # a gold-card holder: dismissed
    body["external_ref"] = "LTD-" + uuid.uuid4().hex[:8]
    r = await c.post(
        "/api/v1/packets",
        headers=auth,
        data={"packet": json.dumps(body)},
        files=[("documents", ("note.pdf", PDF, "application/pdf"))],
    )
    assert r.status_code == 201, r.text
    pid = str(r.json()["packet_id"])
    tracking = r.json()["tracking_number"]
    await _state(c, auth, pid, "letter_review")

    # The drafted set appears on the open page without a reload.
    link = watcher.get_by_role("link", name=f"Open {tracking}")
    await link.wait_for(timeout=20000)
    if os.environ.get("WISER_SCREENSHOT_DIR"):
        await watcher.screenshot(path=os.path.join(os.environ["WISER_SCREENSHOT_DIR"], "letters.png"), full_page=True)
    assert await watcher.evaluate("window.__stillTheSamePage === true")
    await link.click()
    await watcher.wait_for_url(re.compile(r".*/letters/[0-9a-f-]+$"))
    set_url = watcher.url

    # The PDF beside its checks.
    frame = watcher.locator("iframe.pdf").first
    await frame.wait_for()
    pdf = await watcher.request.get(await frame.get_attribute("src"))
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert (await pdf.body()).startswith(b"%PDF")
    if os.environ.get("WISER_SCREENSHOT_DIR"):  # to look at the page by hand (kept out of git)
        await watcher.screenshot(
            path=os.path.join(os.environ["WISER_SCREENSHOT_DIR"], "letter-set.png"), full_page=True
        )
    checks = watcher.locator("#panel-requester table.checks tbody tr")
    assert await checks.count() >= 10
    assert await watcher.locator("#panel-requester tr.result-failed").count() == 0
    await watcher.get_by_role("tab", name="Copy to the beneficiary").click()
    assert await watcher.locator("#panel-beneficiary iframe.pdf").get_attribute("src")

    # An ops user sees it but has no buttons.
    ops = await signed_in(browser, full_system.gateway_url, "ops_tier1")
    await ops.goto(set_url)
    await ops.get_by_text("Approving letters needs").wait_for()
    assert await ops.get_by_role("button", name=re.compile("Approve")).count() == 0
    await ops.context.close()

    # Reject with a reason: letters redrafts (version 2) and the page says so.
    await watcher.get_by_label("Reason").fill("The corrective action needs the exemption's end date")
    await watcher.get_by_role("button", name="Reject and redraft").click()
    await watcher.wait_for_url(re.compile(r".*done=rejected"))
    # The status follows the packet live: the redraft (T15, then T13 again) shows as version 2, with a note to
    # load it when the page still shows version 1.
    await watcher.locator("#letter-status", has_text="version 2").wait_for(timeout=20000)
    if await watcher.locator("#letter-live").get_attribute("data-version") == "1":
        await watcher.locator("#newer-version").wait_for(state="visible", timeout=5000)
    await watcher.goto(set_url)
    await watcher.get_by_role("button", name="Approve version 2").wait_for()

    # Rewrite the closing paragraph of the requester letter: version 3, checked and rendered.
    await watcher.get_by_label("Requester letter: closing paragraph").fill(
        "A copy of this letter has been sent to the beneficiary. Call us if the exemption has ended."
    )
    await watcher.get_by_role("button", name="Save as a new version").click()
    await watcher.wait_for_url(re.compile(r".*done=edited"))
    await watcher.get_by_role("button", name="Approve version 3").click()
    await watcher.wait_for_url(re.compile(r".*done=approved"))
    await _state(c, auth, pid, "delivering")

    if os.environ.get("WISER_SCREENSHOT_DIR"):
        await watcher.screenshot(path=os.path.join(os.environ["WISER_SCREENSHOT_DIR"], "approved.png"), full_page=True)
    history = watcher.locator("table.history")
    text = await history.inner_text()
    for part in ("drafted", "rejected", "redrafted", "edited", "approved", "exemption's end date"):
        assert part in text, part
    # The partner now gets the approved version (3), which says what the person wrote.
    letter_id = (await c.get(f"/api/v1/packets/{pid}", headers=auth)).json()["letters"][0]["letter_id"]
    fetched = await c.get(f"/api/v1/packets/{pid}/letters/{letter_id}", headers=auth)
    assert fetched.status_code == 200 and fetched.headers["content-type"] == "application/pdf"
    await c.aclose()
    await watcher.context.close()
