"""Analytics query latency on 100,000 packets: p50/p95 of every analytics query (the SQL behind each API).

Seeds a database of its own (`wiser_analytics_bench`, dropped afterwards) with a bulk insert of fact rows,
their lines and the daily table, exactly as a rebuild writes them, then runs each query REPEAT times.
Target: p95 ≤ 100 ms each. `python infra/bench/analytics_bench.py [--packets N] [--repeat N]`."""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from wiser_analytics.adapters import reading
from wiser_analytics.adapters.queries import Filters
from wiser_analytics.adapters.store import SqlReadModel
from wiser_analytics.cli import SERVICE_ROOT
from wiser_analytics.config import Settings
from wiser_analytics.domain.facts import MERITS, OPEN_STATES, Fact
from wiser_analytics.domain.zones import local_day, zone_of
from wiser_servicekit.db import make_engine, make_sessionmaker
from wiser_servicekit.migrate import migrate

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
DB = "wiser_analytics_bench"
STATES_OF_SERVICE = ("NJ", "OH", "OK", "TX", "AZ", "WA")
CHANNELS = ("portal", "portal", "portal", "fax", "mail", "esmd", "api")
CODES = ("64581", "27447", "63685", "62323", "64483", "15271", "64590", "22551")


def fake_fact(rnd: random.Random, now: datetime, npis: list[str]) -> Fact:
    pid = uuid.UUID(int=rnd.getrandbits(128))
    sos = rnd.choice(STATES_OF_SERVICE)
    received = now - timedelta(minutes=rnd.randrange(10, 365 * 24 * 60))
    rtype = "expedited" if rnd.random() < 0.2 else "standard"
    due = received + timedelta(days=2 if rtype == "expedited" else 3)
    codes = rnd.sample(CODES, rnd.choice((1, 1, 2)))
    f = Fact(
        pid,
        version=6,
        channel=rnd.choice(CHANNELS),
        review_type=rtype,
        state_of_service=sos,
        time_zone=zone_of(sos),
        service_codes=codes,
        practitioner_npi=rnd.choice(npis),
        resubmission=rnd.random() < 0.1,
        received_at=received,
        due_at=due,
        received_day=local_day(received, sos),
    )
    if now - received < timedelta(days=4) and rnd.random() < 0.5:
        f.state, f.state_entered_at = rnd.choice(OPEN_STATES), received
        return f
    decided = received + timedelta(minutes=rnd.randrange(30, 100 * 60))
    f.determined_at, f.decided_day = decided, local_day(decided, sos)
    f.turnaround_seconds = (decided - received).total_seconds()
    f.met = decided <= due
    f.outcome = rnd.choices(("affirmed", "non_affirmed", "partially_affirmed", "dismissed"), (65, 18, 7, 10))[0]
    if f.outcome == "dismissed":
        f.dismissal_codes = [rnd.choice(("NON_WISER_SERVICE", "INVALID_BENEFICIARY", "DUPLICATE_REQUEST"))]
    else:
        f.lines = [
            {
                "code": c,
                "outcome": f.outcome
                if f.outcome != "partially_affirmed"
                else ("affirmed" if i == 0 else "non_affirmed"),
            }
            for i, c in enumerate(codes)
        ]
        f.reviewer = rnd.choice([f"nurse-{i}" for i in range(40)] + [f"md-{i}" for i in range(8)])
        f.reviewer_role = "medical_director" if f.reviewer.startswith("md") else "clinical_reviewer"
    if rnd.random() < 0.8:
        f.state = "closed"
        f.closed_at = decided + timedelta(hours=rnd.randrange(2, 40))
        f.closed_day, f.closure_reason = local_day(f.closed_at, sos), "delivered"
    else:
        f.state = rnd.choice(("determined", "letter_review", "delivering", "delivery_failed"))
    f.state_entered_at = decided
    assert f.outcome in (*MERITS, "dismissed")
    return f


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--packets", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the bench database (to EXPLAIN the queries)")
    args = parser.parse_args()
    c = await asyncpg.connect(ADMIN)
    await c.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    await c.execute(f'CREATE DATABASE "{DB}"')
    await c.close()
    settings = Settings(
        env="dev",
        database_url=f"postgresql+asyncpg://wiser_analytics@127.0.0.1:5432/{DB}",
        database_admin_url=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{DB}",
    )
    try:
        await asyncio.to_thread(migrate, settings, SERVICE_ROOT)
        engine = make_engine(settings.database_url, settings.db_schema, 4)
        model = SqlReadModel(make_sessionmaker(engine))
        now = datetime.now(UTC)
        rnd = random.Random(42)
        npis = [f"1{rnd.randrange(10**8, 10**9)}" for _ in range(3000)]
        t = time.perf_counter()
        facts = [fake_fact(rnd, now, npis) for _ in range(args.packets)]
        async with model.unit() as u:
            await u.clear_facts()
            await u.add_facts(facts)
        admin = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{DB}")
        await admin.execute("VACUUM ANALYZE")  # what autovacuum does after a bulk load (index-only scans)
        await admin.close()
        print(f"seeded {args.packets:,} packets in {time.perf_counter() - t:.1f} s")
        today = now.date()
        periods = {"30 days": (today - timedelta(days=29), today), "a year": (today - timedelta(days=364), today)}
        print(f"{'query':<34} {'period':<8} {'p50 ms':>8} {'p95 ms':>8}")
        worst = 0.0
        for label, (start, end) in periods.items():
            for name in reading.TABLES:
                if label == "a year" and name in ("status", "packets", "aging"):
                    continue  # not period queries
                variants = [Filters()]
                if name in ("status", "packets"):
                    variants.append(Filters(state_of_service="NJ", service_code="64581", review_type="standard"))
                for filters in variants:
                    params = reading.Query(
                        start=start,
                        end=end,
                        now=datetime.now(UTC),
                        at_risk=timedelta(hours=24),
                        filters=filters,
                        state="clinical_review" if name == "packets" else None,
                    )
                    times = []
                    for _ in range(args.repeat):
                        t0 = time.perf_counter()
                        await reading.read(model.sessions, name, params)
                        times.append((time.perf_counter() - t0) * 1000)
                    p95 = statistics.quantiles(times, n=20)[-1]
                    worst = max(worst, p95)
                    shown = name + (" (filtered)" if filters != Filters() else "")
                    print(f"{shown:<34} {label:<8} {statistics.median(times):>8.1f} {p95:>8.1f}")
        print(f"worst p95: {worst:.1f} ms (target ≤ 100 ms)")
        await engine.dispose()
    finally:
        if not args.keep:
            c = await asyncpg.connect(ADMIN)
            await c.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
            await c.close()


if __name__ == "__main__":
    asyncio.run(main())
