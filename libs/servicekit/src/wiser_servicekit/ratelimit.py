"""Token buckets per key (in process: each replica enforces its share)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, burst_seconds: float = 10.0) -> None:
        self._buckets: dict[str, _Bucket] = {}
        self.burst_seconds = burst_seconds

    def take(self, key: str, per_minute: int, now: float | None = None) -> float:
        """Spend one token; 0.0 if allowed, else seconds until the next token."""
        now = time.monotonic() if now is None else now
        rate = per_minute / 60.0
        capacity = max(1.0, per_minute * self.burst_seconds / 60.0)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(capacity, now)
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
