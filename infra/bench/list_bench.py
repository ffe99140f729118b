"""`make bench` (second part): the packets list page through the gateway with 100k packets in intake.

Tops intake's table up to 100,000 synthetic packets (straight into the dev
database of `make run`, spread over states, services and review types), signs
in as ops_tier1 and measures p50/p95 of `GET /packets` as a dashboard user
loads it: the default view, a state filter, a name search and the next page.

Environment: WISER_GATEWAY_URL (http://127.0.0.1:8000), WISER_BENCH_DSN
(postgresql://postgres@127.0.0.1:5432/wiser), WISER_BENCH_PACKETS (100000).
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import sys
import time

import aiohttp
import asyncpg

GATEWAY = os.environ.get("WISER_GATEWAY_URL", "http://127.0.0.1:8000")
DSN = os.environ.get("WISER_BENCH_DSN", "postgresql://postgres@127.0.0.1:5432/wiser")
TARGET = int(os.environ.get("WISER_BENCH_PACKETS", "100000"))
REQUESTS = int(os.environ.get("WISER_BENCH_REQUESTS", "200"))
CONCURRENCY = 10

FILL = """
INSERT INTO intake.packets (id, tracking_number, partner_client_id, channel, external_ref, submission_type,
  review_type, state_of_service, place_of_service, type_of_bill, beneficiary, practitioner, facility, requester,
  name_index, mbi_index, practitioner_npi, state, version, validation_run, received_at, due_at, updated_at,
  payload_hash)
SELECT gen_random_uuid(), 'WSR-BENCH-' || lpad(n::text, 8, '0'), 'bench', 'api', 'BENCH-' || n, 'initial',
  CASE WHEN n % 7 = 0 THEN 'expedited' ELSE 'standard' END,
  (ARRAY['NJ','OH','OK','TX','AZ','WA'])[1 + n % 6], '22', '131',
  $3::text,
  jsonb_build_object('npi', '1151056334', 'first_name', 'Ursula', 'last_name', 'Brightwater'),
  NULL, NULL, ARRAY(SELECT jsonb_array_elements_text($4::jsonb -> (n % 5000))::bigint),
  md5(n::text) || md5('i' || n::text), '1151056334',
  (ARRAY['validating','manual_review','clinical_queue','clinical_review','md_review','determined','closed'])[1 + n % 7],
  2, 1, now() - (n || ' seconds')::interval, now() - (n || ' seconds')::interval + interval '3 days', now(), 'bench'
FROM generate_series($1::int, $2::int) AS n
"""


def _cipher() -> object:
    from wiser_intake.config import Settings
    from wiser_servicekit.crypto import FieldCipher

    settings = Settings(env=os.environ.get("WISER_ENV", "dev"))  # the bench runs against `make run`
    return FieldCipher(settings.phi_keys, settings.phi_index_key)


def beneficiary_ciphertext() -> str:
    """One encrypted synthetic beneficiary for every bench row (intake stores beneficiaries encrypted)."""
    return _cipher().encrypt_json(  # type: ignore[attr-defined,no-any-return]
        {"mbi": "1EG4TE5MK73", "first_name": "Bench", "last_name": "Patient", "date_of_birth": "1950-01-01"}
    )


def name_indexes() -> str:
    """The name blind indexes of the 5,000 synthetic names "bench patient<i>" (row n gets name n % 5000)."""
    import json

    c = _cipher()
    return json.dumps([c.name_index("bench", f"patient{i}") for i in range(5000)])  # type: ignore[attr-defined]


async def fill() -> int:
    conn = await asyncpg.connect(DSN)
    try:
        have = await conn.fetchval("SELECT count(*) FROM intake.packets")
        bench = await conn.fetchval("SELECT count(*) FROM intake.packets WHERE partner_client_id = 'bench'")
        missing = TARGET - have
        if missing > 0:
            t = time.perf_counter()
            await conn.execute(FILL, bench + 1, bench + missing, beneficiary_ciphertext(), name_indexes())
            await conn.execute("ANALYZE intake.packets")
            print(f"added {missing} synthetic packets in {time.perf_counter() - t:.1f} s")
        return int(await conn.fetchval("SELECT count(*) FROM intake.packets"))
    finally:
        await conn.close()


async def sign_in(session: aiohttp.ClientSession) -> None:
    async with session.get(f"{GATEWAY}/signin") as r:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', await r.text()).group(1)  # type: ignore[union-attr]
    async with session.post(
        f"{GATEWAY}/signin",
        data={"username": "ops_tier1", "password": "demo-password", "csrf_token": csrf, "next": "/packets"},
    ) as r:
        if "/signin" in str(r.url):
            raise SystemExit("sign-in failed (is `make run` up?)")


async def measure(session: aiohttp.ClientSession, name: str, path: str) -> str:
    latencies: list[float] = []
    sem = asyncio.Semaphore(CONCURRENCY)

    async def one() -> None:
        async with sem:
            t = time.perf_counter()
            async with session.get(f"{GATEWAY}{path}") as r:
                await r.read()
                if r.status == 200:
                    latencies.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(REQUESTS)))
    elapsed = time.perf_counter() - t0
    q = statistics.quantiles(sorted(latencies), n=100, method="inclusive")
    return (
        f"{name:<32} p50 {q[49] * 1000:7.1f} ms  p95 {q[94] * 1000:7.1f} ms  "
        f"{len(latencies) / elapsed:6.1f} pages/s  n={len(latencies)}"
    )


async def main() -> int:
    total = await fill()
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        await sign_in(session)
        async with session.get(f"{GATEWAY}/packets") as r:
            cursor = re.search(r"cursor=([A-Za-z0-9_\-]+)", await r.text())
        print(
            f"packets list page through {GATEWAY} with {total} packets in intake; "
            f"{REQUESTS} loads, {CONCURRENCY} at a time"
        )
        print(await measure(session, "default view (newest first)", "/packets"))
        print(await measure(session, "state filter (clinical_queue)", "/packets?state=clinical_queue"))
        print(await measure(session, "name search", "/packets?q=Patient42"))
        if cursor:
            print(await measure(session, "next page (cursor)", f"/packets?cursor={cursor.group(1)}"))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
