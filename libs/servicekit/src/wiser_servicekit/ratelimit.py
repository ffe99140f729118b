"""Token buckets per key (in process: each replica enforces its share).

At most `cap` keys are kept: the least recently used goes first (its bucket would be full again by then, or the
key is one of very many), so an attacker cycling through addresses or names cannot grow the process."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, burst_seconds: float = 10.0, cap: int = 100_000) -> None:
        self._buckets: dict[str, _Bucket] = {}  # in order of last use
        self.burst_seconds = burst_seconds
        self.cap = cap

    @property
    def keys_held(self) -> int:
        return len(self._buckets)

    def take(self, key: str, per_minute: int, now: float | None = None) -> float:
        """Spend one token; 0.0 if allowed, else seconds until the next token."""
        now = time.monotonic() if now is None else now
        rate = per_minute / 60.0
        capacity = max(1.0, per_minute * self.burst_seconds / 60.0)
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            bucket = _Bucket(capacity, now)
            while len(self._buckets) >= self.cap:
                del self._buckets[next(iter(self._buckets))]
        self._buckets[key] = bucket  # the most recently used goes last
        bucket.tokens = min(capacity, bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / rate if rate > 0 else math.inf

    def peek(self, key: str, per_minute: int, now: float | None = None) -> float:
        """Like `take`, without spending: 0.0 if a token is there, else seconds until there is one."""
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0.0
        rate = per_minute / 60.0
        capacity = max(1.0, per_minute * self.burst_seconds / 60.0)
        tokens = min(capacity, bucket.tokens + (now - bucket.updated) * rate)
        if tokens >= 1.0:
            return 0.0
        return (1.0 - tokens) / rate if rate > 0 else math.inf

    def refund(self, key: str, per_minute: int) -> None:
        """Give back a token `take` spent (a reservation that turned out not to be needed)."""
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.tokens = min(max(1.0, per_minute * self.burst_seconds / 60.0), bucket.tokens + 1.0)
