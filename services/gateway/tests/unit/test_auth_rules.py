"""Lockout, session timeouts and the sign-in rate limit, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from wiser_gateway.domain.auth import Lockout, SessionPolicy
from wiser_servicekit.ratelimit import RateLimiter

T = datetime(2026, 12, 1, 9, tzinfo=UTC)


def test_the_fifth_wrong_password_locks_the_account_for_a_while() -> None:
    rule = Lockout(attempts=5, minutes=15)
    failed, locked = 0, None
    for _ in range(4):
        failed, locked = rule.after_failure(failed, T)
        assert locked is None
    failed, locked = rule.after_failure(failed, T)
    assert locked == T + timedelta(minutes=15) and failed == 0
    assert Lockout.locked(locked, T + timedelta(minutes=14)) and not Lockout.locked(locked, T + timedelta(minutes=16))


def test_sessions_end_when_idle_or_too_old() -> None:
    policy = SessionPolicy(idle=timedelta(minutes=30), absolute=timedelta(hours=12))
    expires = T + timedelta(hours=12)
    assert policy.alive(T, expires, T + timedelta(minutes=29))
    assert not policy.alive(T, expires, T + timedelta(minutes=31))
    assert not policy.alive(T + timedelta(hours=11, minutes=59), expires, T + timedelta(hours=12, minutes=1))


def test_sign_in_attempts_are_rate_limited_per_address() -> None:
    limiter = RateLimiter(burst_seconds=60)
    waits = [limiter.take("10.0.0.1", 30, now=100.0) for _ in range(31)]
    assert waits[:30] == [0.0] * 30 and waits[30] > 0
    assert limiter.take("10.0.0.2", 30, now=100.0) == 0.0
    assert limiter.take("10.0.0.1", 30, now=102.5) == 0.0
