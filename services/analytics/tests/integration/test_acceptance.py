"""Acceptance: 5,000 packets with known timestamps, published as intake's (and clinical's) events on the
bus, projected by the real analytics app; every figure of every API equals an independent computation
from the seed (medians included); the same events delivered again change nothing."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import statistics
import subprocess
import sys
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from analytics_history import Plan, seeded_history
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from wiser_analytics.adapters.tables import facts, inbox
from wiser_servicekit.identity import DEMO_PRIVATE_KEYS, issue_identity_token
from wiser_servicekit.testing import Producers, eventually, free_port

N = 5000
NOW = datetime.now(UTC)
BASE = datetime(2026, 4, 1, 9, 17, tzinfo=UTC)
START, END = date(2026, 4, 20), date(2026, 5, 25)  # a period inside the history (filters are exercised)
ZONES = {
    "NJ": "America/New_York",
    "OH": "America/New_York",
    "OK": "America/Chicago",
    "TX": "America/Chicago",
    "AZ": "America/Phoenix",
    "WA": "America/Los_Angeles",
}
ALL_STATES = (
    "received",
    "validating",
    "manual_review",
    "clinical_queue",
    "clinical_review",
    "md_review",
    "determined",
    "letter_review",
    "delivering",
    "delivery_failed",
    "closed",
)
OPEN = ALL_STATES[:6]


def day_of(at: datetime | None, sos: str) -> date | None:
    return None if at is None else at.astimezone(ZoneInfo(ZONES[sos])).date()


def pct(a: int, b: int) -> float | None:
    return round(100.0 * a / b, 2) if b else None


def hrs(seconds: list[float], how: str) -> float | None:
    if not seconds:
        return None
    value = statistics.fmean(seconds) if how == "mean" else statistics.median(seconds)
    return round(value / 3600, 3)


@pytest.fixture(scope="module")
async def analytics(infra: Any, tmp_path_factory: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Any, Any]]:
    """The analytics service as it runs: its own process, database and vhost."""
    own = infra.derive("analytics_acc")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WISER_")}
    env.update(
        {
            "WISER_ENV": "test",
            "WISER_ANALYTICS_DATABASE_URL": own.sqlalchemy_url("wiser_analytics"),
            "WISER_ANALYTICS_DATABASE_ADMIN_URL": own.sqlalchemy_url(),
            "WISER_ANALYTICS_AMQP_URL": own.amqp_url_for("analytics"),
            "WISER_AMQP_ADMIN_URL": own.amqp_url,
            "WISER_ANALYTICS_HTTP_PORT": str(port),
            "WISER_ANALYTICS_GOLD_CARD_THRESHOLD_PERCENT": "75",
            "WISER_ANALYTICS_DB_POOL_SIZE": "12",
        }
    )
    root = Path(__file__).resolve().parents[4]
    subprocess.run(
        [sys.executable, "-m", "wiser_analytics", "migrate"], cwd=root, env=env, check=True, capture_output=True
    )
    log = open(tmp_path_factory.mktemp("analytics") / "analytics.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "wiser_analytics", "serve"],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    engine = create_async_engine(own.sqlalchemy_url())
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            await eventually(lambda: _ready(client), timeout=60, interval=0.3)
            yield client, engine, own
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
        log.close()
        await engine.dispose()


async def _ready(client: httpx.AsyncClient) -> bool:
    try:
        return (await client.get("/health/ready")).status_code == 200
    except httpx.HTTPError:
        return False


def manager() -> dict[str, str]:
    token = issue_identity_token(DEMO_PRIVATE_KEYS["wiser-gateway"], "mgr-1", ("manager",))
    return {"Authorization": f"Bearer {token}"}


async def publish(producers: Producers, plans: list[Plan]) -> None:
    async def one(p: Plan) -> None:
        for msg in p.messages:  # one packet's messages in order, as intake publishes them
            await producers.publish(msg)

    for i in range(0, len(plans), 100):
        await asyncio.gather(*(one(p) for p in plans[i : i + 100]))


async def inbox_count(engine: Any) -> int:
    async with engine.connect() as c:
        return int((await c.execute(select(func.count()).select_from(inbox))).scalar_one())


def expected(plans: list[Plan], now: datetime, threshold: float) -> dict[str, Any]:
    """Every figure from the seed's plans, computed here without the projection."""
    decided = [p for p in plans if p.outcome and START <= day_of(p.decided_at, p.state_of_service) <= END]
    tat = {id(p): (p.decided_at - p.received_at).total_seconds() for p in decided}  # type: ignore[operator]
    counts = Counter(p.outcome for p in decided)
    merits = [p for p in decided if p.outcome != "dismissed"]
    resub = [p for p in merits if p.resubmission]
    out: dict[str, Any] = {}
    out["status"] = {s: sum(1 for p in plans if p.state == s) for s in ALL_STATES}
    aging = []
    for s in ALL_STATES[:-1]:
        group = [p for p in plans if p.state == s]
        ages = [(now - p.received_at) for p in group]
        day = timedelta(days=1)
        aging.append(
            {
                "state": s,
                "lt_1d": sum(a < day for a in ages),
                "d1_2": sum(day <= a < 2 * day for a in ages),
                "d2_3": sum(2 * day <= a < 3 * day for a in ages),
                "gt_3d": sum(a >= 3 * day for a in ages),
                "at_risk": sum(1 for p in group if s in OPEN and now <= p.due_at <= now + timedelta(hours=24)),
                "breached": sum(1 for p in group if s in OPEN and p.due_at < now),
                "total": len(group),
            }
        )
    out["aging"] = aging
    sla = []
    for rt in ("standard", "expedited", "all"):
        g = [p for p in decided if rt == "all" or p.review_type == rt]
        met = sum(1 for p in g if p.decided_at <= p.due_at)  # type: ignore[operator]
        sla.append(
            {"review_type": rt, "decided": len(g), "met": met, "missed": len(g) - met, "percent_met": pct(met, len(g))}
        )
    out["sla"] = sla
    out["cms"] = {
        "determinations": len(decided),
        "counts": {o: counts.get(o, 0) for o in ("affirmed", "non_affirmed", "partially_affirmed", "dismissed")},
        "percent_of_all": {
            o: pct(counts.get(o, 0), len(decided))
            for o in ("affirmed", "non_affirmed", "partially_affirmed", "dismissed")
        },
        "merits_decisions": len(merits),
        "percent_of_merits": {
            o: pct(counts.get(o, 0), len(merits)) for o in ("affirmed", "non_affirmed", "partially_affirmed")
        },
        "time_to_decision": {
            rt: {
                "decided": sum(1 for p in decided if p.review_type == rt),
                "average_hours": hrs([tat[id(p)] for p in decided if p.review_type == rt], "mean"),
                "median_hours": hrs([tat[id(p)] for p in decided if p.review_type == rt], "median"),
            }
            for rt in ("standard", "expedited")
        },
        "resubmissions_decided": len(resub),
        "resubmissions_affirmed": sum(1 for p in resub if p.outcome == "affirmed"),
        "percent_affirmed_after_resubmission": pct(sum(1 for p in resub if p.outcome == "affirmed"), len(resub)),
    }
    days = [START + timedelta(days=i) for i in range((END - START).days + 1)]
    out["throughput"] = [
        {
            "day": d.isoformat(),
            "received": sum(1 for p in plans if day_of(p.received_at, p.state_of_service) == d),
            "determined": sum(1 for p in plans if p.outcome and day_of(p.decided_at, p.state_of_service) == d),
            "closed": sum(1 for p in plans if day_of(p.closed_at, p.state_of_service) == d),
        }
        for d in days
    ]
    by_reviewer: dict[str, list[Plan]] = defaultdict(list)
    for p in decided:
        if p.reviewer:
            by_reviewer[p.reviewer].append(p)
    out["reviewers"] = [
        {
            "reviewer": r,
            "decided": len(g),
            "affirmed": sum(p.outcome == "affirmed" for p in g),
            "non_affirmed": sum(p.outcome == "non_affirmed" for p in g),
            "partially_affirmed": sum(p.outcome == "partially_affirmed" for p in g),
            "met": sum(p.decided_at <= p.due_at for p in g),  # type: ignore[operator]
            "percent_met": pct(sum(p.decided_at <= p.due_at for p in g), len(g)),  # type: ignore[operator]
            "average_hours": hrs([tat[id(p)] for p in g], "mean"),
            "median_hours": hrs([tat[id(p)] for p in g], "median"),
        }
        for r, g in sorted(by_reviewer.items())
    ]
    lines: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for p in decided:
        for ln in p.lines or [{"code": c, "outcome": "dismissed"} for c in p.codes]:
            lines[(ln["code"], p.state_of_service)][ln["outcome"]] += 1
    out["outcomes"] = [
        {
            "service_code": code,
            "state_of_service": sos,
            "lines": sum(c.values()),
            **{o: c.get(o, 0) for o in ("affirmed", "non_affirmed", "partially_affirmed", "dismissed")},
            "percent_affirmed": pct(c.get("affirmed", 0), sum(c.values())),
        }
        for (code, sos), c in sorted(lines.items())
    ]
    dismissed = [p for p in decided if p.outcome == "dismissed"]
    reasons = Counter(code for p in dismissed for code in p.dismissal_codes)
    out["dismissals"] = [
        {"code": c, "count": n, "percent_of_dismissals": pct(n, len(dismissed))}
        for c, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    received = [p for p in plans if START <= day_of(p.received_at, p.state_of_service) <= END]
    channels = Counter(p.channel for p in received)
    out["channels"] = [
        {"channel": c, "received": n, "percent": pct(n, len(received))}
        for c, n in sorted(channels.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    by_npi: dict[str, list[Plan]] = defaultdict(list)
    for p in received:
        by_npi[p.npi].append(p)
    gold = []
    for npi, g in sorted(by_npi.items()):
        merit = [p for p in g if p.outcome in ("affirmed", "non_affirmed", "partially_affirmed")]
        affirmed = sum(p.outcome == "affirmed" for p in g)
        rate = pct(affirmed, len(merit))
        if len(g) >= 10 and rate is not None and rate > threshold:
            gold.append(
                {
                    "practitioner_npi": npi,
                    "requests": len(g),
                    "merits_decisions": len(merit),
                    "affirmed": affirmed,
                    "affirmation_rate": rate,
                }
            )
    out["gold-card"] = gold
    bins = []
    edges = [(0, 12), (12, 24), (24, 48), (48, 72), (72, None)]
    for lo, hi in edges:
        row: dict[str, Any] = {"bin": f"{lo}–{hi} h" if hi is not None else f"≥ {lo} h"}
        for rt in ("standard", "expedited"):
            row[rt] = sum(
                1
                for p in decided
                if p.review_type == rt and lo * 3600 <= tat[id(p)] and (hi is None or tat[id(p)] < hi * 3600)
            )
        bins.append(row)
    out["turnaround"] = bins
    return out


@pytest.mark.slow
async def test_every_figure_equals_an_independent_computation_and_redelivery_changes_nothing(analytics) -> None:
    client, engine, own = analytics
    plans = seeded_history(N, 2026, BASE, NOW, timedelta(hours=24))
    assert sum(1 for p in plans if p.outcome) > 4000
    total = sum(len(p.messages) for p in plans)
    producers = Producers(own)
    try:
        await publish(producers, plans)
        await eventually(lambda: _reached(engine, total), timeout=1500, interval=2)
        h = manager()
        params = {"from": START.isoformat(), "to": END.isoformat()}

        async def figures() -> dict[str, Any]:
            got: dict[str, Any] = {}
            got["status"] = (await client.get("/api/v1/analytics/status", headers=h)).json()["counts"]
            aging = (await client.get("/api/v1/analytics/aging", headers=h)).json()
            got["aging"], got["_now"] = aging["states"], datetime.fromisoformat(aging["at"])
            for name, key in (
                ("sla", "rows"),
                ("throughput", "days"),
                ("reviewers", "reviewers"),
                ("outcomes", "rows"),
                ("dismissals", "rows"),
                ("channels", "rows"),
                ("gold-card", "candidates"),
                ("turnaround", "bins"),
            ):
                r = await client.get(f"/api/v1/analytics/{name}", params=params, headers=h)
                assert r.status_code == 200, r.text
                got[name] = r.json()[key]
            cms = (await client.get("/api/v1/analytics/cms", params=params, headers=h)).json()
            got["cms"] = {k: v for k, v in cms.items() if k not in ("start", "end")}
            return got

        got = await figures()
        want = expected(plans, got.pop("_now"), 75.0)
        for name in want:
            assert got[name] == want[name], name
        assert want["gold-card"] and want["dismissals"] and want["cms"]["time_to_decision"]["expedited"]["decided"]

        # Redelivery: 300 packets' events again (same message ids), each followed by a sentinel: its
        # PacketReceived re-announced under a new message id (the same record: it changes nothing either).
        async with engine.connect() as c:
            before = sorted((tuple(r) for r in await c.execute(select(facts))), key=str)
        again = random.Random(5).sample(plans, 300)
        for p in again:
            for msg in p.messages:
                await producers.publish(msg)
            await producers.publish(p.messages[0].model_copy(update={"message_id": uuid.uuid4()}))
        await eventually(lambda: _reached(engine, total + 300), timeout=600, interval=1)
        async with engine.connect() as c:
            after = sorted((tuple(r) for r in await c.execute(select(facts))), key=str)
        assert after == before
        got = await figures()
        want = expected(plans, got.pop("_now"), 75.0)
        for name in want:
            assert got[name] == want[name], name
    finally:
        await producers.close()


async def _reached(engine: Any, n: int) -> bool:
    return await inbox_count(engine) >= n
