"""Analytics on the running system: packets driven through intake and the bus are projected live; a rebuild
from intake's history export gives the same read model; a duplicate delivery changes nothing; a manager
clicks a status box, the table filters, and downloads the CSV and the PDF report (Playwright)."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from wiser_analytics.adapters.tables import daily, fact_lines, facts, inbox
from wiser_contracts import messages as m
from wiser_servicekit.testing import BusProbe, Producers, eventually

from . import test_dashboards
from .conftest import ROOT
from .test_dashboards import signed_in
from .test_validation import PDF, packet

LAST_NAMES = ("Marwood", "Paxley", "Brennick", "Ardmore")
browser = test_dashboards.browser  # the module's Chromium (Playwright), shared fixture
needs_chromium = test_dashboards.pytestmark


async def _snapshot(engine: Any) -> tuple[Any, ...]:
    async with engine.connect() as c:
        f = sorted((tuple(r) for r in await c.execute(select(facts))), key=str)
        ln = sorted((tuple(r) for r in await c.execute(select(fact_lines))), key=str)
        d = sorted(
            (
                r.day,
                r.kind,
                r.state_of_service,
                r.review_type,
                r.channel,
                r.outcome,
                r.count,
                r.met,
                round(r.turnaround_seconds, 3),
            )
            for r in await c.execute(select(daily).where(daily.c.count != 0))
        )
    return f, ln, d


def _differences(got: tuple[Any, ...], want: tuple[Any, ...]) -> list[str]:
    """Readable differences between two snapshots: per fact row, the columns that differ."""
    names = [c.name for c in facts.columns]
    out = []
    g, w = {r[0]: r for r in got[0]}, {r[0]: r for r in want[0]}
    for pid in sorted(set(g) | set(w), key=str):
        if g.get(pid) != w.get(pid):
            if pid not in g or pid not in w:
                out.append(f"{pid}: only in {'rebuild' if pid in g else 'live'}")
                continue
            out += [f"{pid} {n}: {a!r} != {b!r}" for n, a, b in zip(names, g[pid], w[pid], strict=True) if a != b]
    if got[1] != want[1]:
        out.append(f"lines: {sorted(set(got[1]) ^ set(want[1]), key=str)[:6]}")
    if got[2] != want[2]:
        out.append(f"daily: {sorted(set(got[2]) ^ set(want[2]), key=str)[:6]}")
    return out


async def _inbox(engine: Any) -> int:
    async with engine.connect() as c:
        return int((await c.execute(select(func.count()).select_from(inbox))).scalar_one())


@pytest.fixture(scope="module")
async def driven(full_system: Any) -> dict[str, Any]:
    """Four packets through the partner API and validation, then decided by clinicians on the bus; what
    intake published on the way (for redelivery)."""
    producers = Producers(full_system.infra)
    engine = create_async_engine(full_system.infra.sqlalchemy_url())
    ids: list[str] = []
    async with (
        httpx.AsyncClient(base_url=full_system.url, timeout=30) as c,
        BusProbe(full_system.infra.amqp_url, ("intake.packet.#",)) as probe,
    ):
        token = (
            await c.post(
                "/oauth/token",
                data={"grant_type": "client_credentials", "client_id": "demo-partner", "client_secret": "demo-secret"},
            )
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        for last in LAST_NAMES:
            body = packet(last, "Okonkwo", code="64483", dx="M54.16")
            r = await c.post(
                "/api/v1/packets",
                headers=auth,
                data={"packet": json.dumps(body)},
                files=[("documents", ("note.pdf", PDF, "application/pdf"))],
            )
            assert r.status_code == 201, r.text
            ids.append(r.json()["packet_id"])
        states: dict[str, str] = {}
        for pid in ids:
            for _ in range(300):
                states[pid] = (await c.get(f"/api/v1/packets/{pid}", headers=auth)).json()["state"]
                if states[pid] in ("clinical_queue", "determined", "manual_review"):
                    break
                await asyncio.sleep(0.1)
        queued = [pid for pid in ids if states[pid] == "clinical_queue"]
        assert queued, states
        for i, pid in enumerate(queued):
            p = uuid.UUID(pid)
            await producers.publish(m.ReviewAssigned(packet_id=p, producer="clinical", reviewer_id="nurse-a"))
            await eventually(lambda p=pid: _state_is(c, auth, p, "clinical_review"), timeout=30)
            if i % 2:
                await producers.publish(
                    m.ReviewEscalated(
                        packet_id=p,
                        producer="clinical",
                        reviewer_id="nurse-a",
                        recommendation=m.Outcome.NON_AFFIRMED,
                        rationale="criteria not met",
                    )
                )
                await eventually(lambda p=pid: _state_is(c, auth, p, "md_review"), timeout=30)
                decision = m.DeterminationRecorded(
                    packet_id=p,
                    producer="clinical",
                    outcome=m.Outcome.NON_AFFIRMED,
                    decided_by="md-a",
                    decided_by_role="medical_director",
                    decided_at=datetime.now(UTC),
                    lines=(m.LineDecision(code="64483", outcome=m.Outcome.NON_AFFIRMED, reasons=("no trial",)),),
                )
            else:
                decision = m.DeterminationRecorded(
                    packet_id=p,
                    producer="clinical",
                    outcome=m.Outcome.AFFIRMED,
                    decided_by="nurse-a",
                    decided_by_role="clinical_reviewer",
                    decided_at=datetime.now(UTC),
                    lines=(m.LineDecision(code="64483", outcome=m.Outcome.AFFIRMED),),
                )
            await producers.publish(decision)
            await eventually(lambda p=pid: _state_is(c, auth, p, "determined"), timeout=30)
        await asyncio.sleep(1)
        published = [body for key, body, _ in probe.messages if key.startswith("intake.packet.")]
    count = len(published)

    async def projected() -> bool:
        async with engine.connect() as conn:
            n = (
                await conn.execute(select(func.count()).select_from(facts).where(facts.c.state == "determined"))
            ).scalar_one()
        return n >= len(queued) and await _inbox(engine) >= count

    await eventually(projected, timeout=60)
    yield {"ids": ids, "published": published, "engine": engine, "producers": producers}
    await producers.close()
    await engine.dispose()


async def _state_is(c: httpx.AsyncClient, auth: dict[str, str], pid: str, state: str) -> bool:
    return (await c.get(f"/api/v1/packets/{pid}", headers=auth)).json()["state"] == state


async def test_a_rebuild_from_intakes_history_equals_the_live_projection_and_a_duplicate_changes_nothing(
    full_system: Any, driven: dict[str, Any]
) -> None:
    engine = driven["engine"]
    live = await _snapshot(engine)
    assert any(row[2] == "determined" for row in live[0])
    async with httpx.AsyncClient(base_url=full_system.analytics_url, timeout=120) as c:
        r = await c.post("/api/v1/ops/analytics/rebuild", headers=full_system.staff("admin"))
        assert r.status_code == 200, r.text
        assert r.json()["packets"] >= len(driven["ids"])
        rebuilt = await _snapshot(engine)
        assert _differences(rebuilt, live) == []

        refused = await c.post("/api/v1/ops/analytics/rebuild", headers=full_system.staff("manager"))
        assert refused.status_code == 403

    # The same from the command line (what ops run after restoring a database).
    cli = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "wiser_analytics", "rebuild"],
        cwd=ROOT,
        env=full_system.env,
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 0 and "rebuilt" in cli.stdout, cli.stderr[-2000:]
    assert _differences(await _snapshot(engine), live) == []

    # The same event twice (same message id), then the same transition re-announced with a new id.
    body = next(b for b in driven["published"] if b["type"] == "intake.packet.transitioned")
    message = m.PacketTransitioned.model_validate(body)
    before = await _inbox(engine)
    await driven["producers"].publish(message)
    await driven["producers"].publish(message.model_copy(update={"message_id": uuid.uuid4()}))
    await eventually(lambda: _at_least(engine, before + 1), timeout=30)
    assert await _inbox(engine) == before + 1
    assert await _snapshot(engine) == live


async def _at_least(engine: Any, n: int) -> bool:
    return await _inbox(engine) >= n


@needs_chromium
async def test_a_manager_filters_by_a_status_box_and_downloads_the_csv_and_the_pdf(
    browser: Any,
    full_system: Any,
    driven: dict[str, Any],
    tmp_path: Any,
) -> None:
    page = await signed_in(browser, full_system.gateway_url, "manager")
    await page.get_by_role("link", name="Analytics", exact=True).click()
    await page.wait_for_url(re.compile(r".*/analytics$"))
    box = page.locator('a.box[data-state="determined"]')
    assert int(await box.locator(".count").inner_text()) >= 1
    await box.click()
    await page.wait_for_url(re.compile(r".*/analytics\?.*state=determined"))
    await page.wait_for_selector("#analytics-packets tbody tr[data-packet]")
    states = await page.locator("#analytics-packets [data-role=state]").all_inner_texts()
    assert states and set(states) == {"determined"}
    assert await page.locator('a.box[data-state="determined"]').get_attribute("aria-current") == "true"
    assert await page.locator("svg.chart title").count() >= 1  # the chart, drawn on the server

    async with page.expect_download() as csv_download:
        await page.locator("[data-test=packets-csv]").click()
    csv_path = tmp_path / "packets.csv"
    await (await csv_download.value).save_as(csv_path)
    lines = csv_path.read_text().splitlines()
    assert lines[0].startswith("packet_id,state") and len(lines) >= 2
    assert all(",determined," in line for line in lines[1:])

    async with page.expect_download() as pdf_download:
        await page.locator("[data-test=report-pdf]").click()
    pdf_path = tmp_path / "report.pdf"
    await (await pdf_download.value).save_as(pdf_path)
    assert pdf_path.read_bytes().startswith(b"%PDF")

    await page.goto("/analytics/insights")
    assert await page.get_by_role("heading", name="CMS-0057-F style metrics").count() == 1
    assert await page.locator("svg.chart").count() == 4
    await page.context.close()


@needs_chromium
async def test_people_without_an_analytics_role_see_no_analytics(browser: Any, full_system: Any) -> None:
    page = await signed_in(browser, full_system.gateway_url, "ops_tier1")
    assert await page.get_by_role("link", name="Analytics", exact=True).count() == 0
    r = await page.goto("/analytics")
    assert r is not None and r.status == 403
    await page.context.close()
