"""Timeouts, retries with backoff and the circuit breaker, around a peer call that fails on purpose."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from wiser_validation.adapters.peers import CircuitBreaker, PeerUnavailable, Resilience, TtlCache


async def test_a_flaky_peer_is_retried_until_it_answers() -> None:
    calls = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise httpx.ConnectError("refused")
        return "ok"

    assert await Resilience(timeout=1, attempts=3, backoff=0.001).call("hets", flaky) == "ok"
    assert len(calls) == 3


async def test_a_slow_peer_times_out_and_is_reported_unavailable() -> None:
    async def slow() -> str:
        await asyncio.sleep(1)
        return "late"

    with pytest.raises(PeerUnavailable):
        await Resilience(timeout=0.01, attempts=2, backoff=0.001).call("hets", slow)


async def test_the_breaker_opens_after_repeated_failures_and_lets_a_trial_through_later() -> None:
    breaker = CircuitBreaker(threshold=2, reset_after=0.05)
    calls = []

    async def down() -> str:
        calls.append(1)
        raise httpx.ConnectError("refused")

    resilience = Resilience(timeout=1, attempts=2, backoff=0.001, breaker=breaker)
    with pytest.raises(PeerUnavailable):
        await resilience.call("nppes", down)
    assert breaker.state == "open"
    with pytest.raises(PeerUnavailable):
        await resilience.call("nppes", down)
    assert len(calls) == 2  # the open breaker refused without calling
    await asyncio.sleep(0.06)
    assert breaker.state == "half_open"

    async def back() -> str:
        return "ok"

    assert await resilience.call("nppes", back) == "ok"
    assert breaker.state == "closed"


def test_registry_answers_are_kept_for_a_while_only() -> None:
    cache = TtlCache(ttl=0.0)
    cache.put("1151056334", "active")
    assert cache.get("1151056334") is None
    cache = TtlCache(ttl=60)
    cache.put("1151056334", "active")
    assert cache.get("1151056334") == "active"
