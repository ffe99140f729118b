"""Credential guard (throttle per address and name, lockout of a name from one address) and client addresses."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

from wiser_servicekit.clients import HashPool, client_address
from wiser_servicekit.guard import CredentialGuard


def test_failures_lock_a_name_out_from_that_address_only() -> None:
    g = CredentialGuard(
        per_address_per_minute=1000,
        lock_after=5,
        lock_minutes=15,
        name_failures_per_minute=1000,
        address_failures_per_minute=1000,
    )
    t = 1000.0
    for i in range(4):
        assert g.check("10.0.0.9", "acme", t + i).allowed
        assert g.failed("10.0.0.9", "acme", t + i) is False
    assert g.failed("10.0.0.9", "acme", t + 4) is True
    refused = g.check("10.0.0.9", "acme", t + 5)
    assert not refused.allowed and refused.reason == "locked" and 890 < refused.retry_after <= 900
    assert g.check("203.0.113.7", "acme", t + 5).allowed  # the partner's own address still works
    assert g.check("10.0.0.9", "other", t + 5).allowed
    assert g.check("10.0.0.9", "acme", t + 4 + 901).allowed  # the lock ends


def test_unknown_and_known_names_are_treated_alike() -> None:
    g = CredentialGuard(per_address_per_minute=1000, lock_after=3, name_failures_per_minute=1000)
    for name in ("real-partner", "no-such-client"):
        for i in range(3):
            g.failed("10.0.0.1", name, 10.0 + i)
        assert g.check("10.0.0.1", name, 20.0).reason == "locked"


def test_attempts_are_throttled_per_address() -> None:
    g = CredentialGuard(per_address_per_minute=30, lock_after=100, name_failures_per_minute=1000)
    allowed = [g.check("10.0.0.2", f"name-{i}", 50.0).allowed for i in range(40)]
    assert allowed.count(True) == 5 and allowed[-1] is False  # a burst of ten seconds' worth
    assert g.check("10.0.0.2", "x", 50.0).reason == "address"
    assert g.check("10.0.0.3", "x", 50.0).allowed  # another address has its own bucket
    assert g.check("10.0.0.2", "x", 52.0).allowed  # one more every two seconds


def test_failures_for_a_name_from_many_addresses_throttle_it_but_not_where_it_signs_in() -> None:
    g = CredentialGuard(per_address_per_minute=1000, lock_after=100, name_failures_per_minute=10)
    g.succeeded("198.51.100.1", "acme", 0.0)  # the partner's usual address
    for i in range(1):  # ten seconds' worth of a 10/min budget: 1.67 failures
        assert g.check(f"10.0.{i}.1", "acme", 1.0).allowed
        g.failed(f"10.0.{i}.1", "acme", 1.0)
    assert g.check("10.9.9.9", "acme", 1.0).reason == "name"
    assert g.check("198.51.100.1", "acme", 1.0).allowed  # nobody locks the partner out from elsewhere
    assert g.check("10.9.9.9", "acme", 13.0).allowed  # the bucket refills


def test_failures_across_many_names_from_one_address_throttle_the_address_but_not_a_name_that_signs_in_there() -> None:
    g = CredentialGuard(per_address_per_minute=1000, lock_after=100, name_failures_per_minute=1000)
    g.succeeded("10.0.0.9", "acme", 90.0)  # a partner signed in from 10.0.0.9 (a shared NAT, say) before the run

    def guessing_run(address: str) -> int:
        passed = 0
        for i in range(50):  # a new client id each time, all from one address, within a second; every check
            name = f"guess-{address}-{i}"  # is made before any hash has failed (they are still running)
            passed += g.check(address, name, 100.0 + i / 50).allowed
        for i in range(50):
            g.failed(address, f"guess-{address}-{i}", 101.0)
        return passed

    assert guessing_run("10.0.0.7") == 10  # a minute's worth of a 10/min failure budget, then one every six seconds
    assert g.check("10.0.0.7", "guess-x", 101.0).reason == "address"
    assert g.address_wait("10.0.0.7", 101.0) > 0  # the gate refuses it before parsing anything
    assert g.check("10.0.0.8", "guess-x", 101.0).allowed  # another address is not touched
    assert g.check("10.0.0.7", "guess-y", 107.5).allowed  # one more every six seconds

    # Where a partner signed in lately, the gate lets the address through and only unknown names are refused.
    assert guessing_run("10.0.0.9") == 10
    assert g.address_wait("10.0.0.9", 101.0) == 0.0
    assert g.check("10.0.0.9", "acme", 101.0).allowed
    assert g.check("10.0.0.9", "guess-y", 101.0).reason == "address"


def test_a_success_gives_back_the_failure_its_check_reserved() -> None:
    g = CredentialGuard(per_address_per_minute=1000, lock_after=100, address_failures_per_minute=2)
    for i in range(10):  # partners signing in one after another from one address spend nothing
        assert g.check("10.0.0.4", f"partner-{i}", 100.0 + i).allowed
        g.succeeded("10.0.0.4", f"partner-{i}", 100.0 + i)


def test_x_forwarded_for_is_believed_only_from_trusted_proxies() -> None:
    proxies = "10.0.0.0/8, 192.0.2.1"
    assert client_address("203.0.113.5", "1.2.3.4", proxies) == "203.0.113.5"  # not a proxy: header ignored
    assert client_address("10.1.1.1", "198.51.100.7", proxies) == "198.51.100.7"
    # A client's own X-Forwarded-For entries are to the left of what our proxies appended: not believed.
    assert client_address("10.1.1.1", "6.6.6.6, 198.51.100.7, 10.2.2.2", proxies) == "198.51.100.7"
    assert client_address("10.1.1.1", "not-an-ip", proxies) == "10.1.1.1"
    assert client_address("10.1.1.1", "198.51.100.7", "") == "10.1.1.1"  # no proxies configured
    assert client_address("192.0.2.1", None, proxies) == "192.0.2.1"


async def test_hashes_run_off_the_event_loop() -> None:
    pool = HashPool(concurrency=2)
    loop_thread = threading.get_ident()
    threads: list[int] = []

    def slow() -> int:
        threads.append(threading.get_ident())
        time.sleep(0.2)
        return 1

    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    assert await asyncio.gather(pool.run(slow), pool.run(slow)) == [1, 1]
    task.cancel()
    assert loop_thread not in threads and ticks >= 10  # the loop kept running while the hashes ran


async def test_the_gate_answers_an_address_over_its_budget_before_the_app_runs() -> None:
    import httpx
    from fastapi import FastAPI

    from wiser_servicekit.guard import GuardGate

    guard = CredentialGuard(per_address_per_minute=18, lock_after=100)
    app = FastAPI()
    ran = []

    @app.post("/oauth/token")
    async def tok() -> dict[str, str]:
        ran.append(1)
        guard.check("127.0.0.1", "x")  # the route spends the address's budget, as /oauth/token does
        return {"ok": "yes"}

    app.add_middleware(GuardGate, guard=guard, paths=("/oauth/token",), trusted_proxies="")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        codes = [(await c.post("/oauth/token", data={"a": "b"})).status_code for _ in range(6)]
        last = await c.post("/oauth/token", data={"a": "b"})
    assert codes == [200, 200, 200, 429, 429, 429] and len(ran) == 3
    assert last.json()["code"] == "RATE_LIMITED" and int(last.headers["retry-after"]) >= 1


def test_refusals_are_logged_once_per_address_per_minute_and_not_per_request(caplog: Any) -> None:
    from wiser_servicekit.guard import RefusalLog

    refusals = RefusalLog("test")
    with caplog.at_level(logging.WARNING, logger="wiser.guard"):
        for i in range(500):
            refusals.refused("10.0.0.5", "address", 100.0 + i * 0.1)  # 50 s of a flood
        refusals.refused("10.0.0.5", "address", 161.0)
        refusals.refused("10.0.0.6", "address", 161.0)
    lines = [r for r in caplog.records if r.name == "wiser.guard"]
    assert [(r.client_address, getattr(r, "refused", None)) for r in lines] == [  # type: ignore[attr-defined]
        ("10.0.0.5", None),
        ("10.0.0.5", 500),
        ("10.0.0.6", None),
    ]


def test_uvicorns_access_line_for_a_refused_token_request_is_dropped_and_others_kept() -> None:
    from wiser_servicekit.logs import quiet_access_refusals

    quiet_access_refusals("/oauth/token")
    access = logging.getLogger("uvicorn.access")

    def line(path: str, status: int) -> logging.LogRecord:
        return access.makeRecord(
            "uvicorn.access",
            logging.INFO,
            __file__,
            1,
            '%s - "%s %s HTTP/%s" %d',
            ("10.0.0.1:5000", "POST", path, "1.1", status),
            None,
        )

    assert not access.filter(line("/oauth/token", 429))
    assert access.filter(line("/oauth/token", 200))
    assert access.filter(line("/oauth/token", 401))
    assert access.filter(line("/api/v1/packets", 429))


def test_a_flood_from_ever_new_addresses_and_names_cannot_grow_the_guard() -> None:
    from wiser_servicekit.ratelimit import RateLimiter

    g = CredentialGuard(per_address_per_minute=60, cap=1000)
    for i in range(5000):
        address, name = f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", f"guess-{i}"
        if g.check(address, name, 100.0).allowed:
            g.failed(address, name, 100.0)
    for limiter in (g._addresses, g._names, g._address_failures):
        assert limiter.keys_held <= 1000
    # The least recently used key goes first; a key in use keeps its bucket.
    r = RateLimiter(burst_seconds=60.0, cap=2)
    assert r.take("a", 1, 0.0) == 0.0 and r.take("a", 1, 0.0) > 0  # "a" spent its one token
    r.take("b", 1, 0.0)
    r.take("a", 1, 0.0)  # "a" used again: "b" is now the oldest
    r.take("c", 1, 0.0)
    assert r.keys_held == 2 and r.take("a", 1, 0.0) > 0 and r.take("b", 1, 0.0) == 0.0  # "b" was forgotten
