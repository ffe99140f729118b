"""Retries: fixed-delay tiers within a budget, and a circuit breaker per peer (pure; the clock is passed in)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Schedule:
    """After the n-th failed attempt wait `delays[n-1]` (the last tier repeats), until `budget` has passed
    since the first attempt; then the work has failed."""

    delays: tuple[float, ...]
    budget_seconds: float

    def next_attempt(self, first_at: datetime, attempts: int, now: datetime) -> datetime | None:
        """When to try again after `attempts` failures, or None when the budget is spent."""
        if attempts < 1:
            return now
        tier = self.delays[min(attempts, len(self.delays)) - 1] if self.delays else 60.0
        at = now + timedelta(seconds=tier)
        if at > first_at + timedelta(seconds=self.budget_seconds):
            return None
        return at


def parse_delays(text: str) -> tuple[float, ...]:
    return tuple(float(x) for x in text.split(",") if x.strip())


@dataclass
class Breaker:
    """Opens after `threshold` failures in a row; lets one call through after `reset_seconds` (half-open)."""

    threshold: int
    reset_seconds: float
    failures: int = 0
    opened_at: datetime | None = field(default=None)

    def allows(self, now: datetime) -> bool:
        if self.opened_at is None:
            return True
        return (now - self.opened_at).total_seconds() >= self.reset_seconds

    def succeeded(self) -> None:
        self.failures, self.opened_at = 0, None

    def failed(self, now: datetime) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            self.opened_at = now

    @property
    def state(self) -> str:
        return "closed" if self.opened_at is None else "open"


class Breakers:
    """One breaker per peer (a webhook's host, the fax provider, ...)."""

    def __init__(self, threshold: int, reset_seconds: float) -> None:
        self.threshold, self.reset_seconds = threshold, reset_seconds
        self._by_peer: dict[str, Breaker] = {}

    def of(self, peer: str) -> Breaker:
        if peer not in self._by_peer:
            self._by_peer[peer] = Breaker(self.threshold, self.reset_seconds)
        return self._by_peer[peer]

    def states(self) -> dict[str, str]:
        return {p: b.state for p, b in self._by_peer.items()}
