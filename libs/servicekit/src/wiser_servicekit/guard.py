"""Credential checks under attack: throttled per address and per name, a name locked out *from one address*.

Used by intake's `/oauth/token` (name = client id) and the gateway's sign-in (name = username), in process
(each replica guards its share). The rules:

- every attempt from an address spends a token of that address's bucket (`per_address_per_minute`);
- `lock_after` failures for a name from one address lock that name *from that address* for `lock_minutes`;
  the same name keeps working from every other address, so nobody can lock a partner out from elsewhere;
- failures for one name from anywhere spend that name's bucket (`name_failures_per_minute`): once it is empty,
  attempts for the name are throttled, except from an address where the name recently signed in;
- failures from one address for any name spend that address's failure bucket (`address_failures_per_minute`;
  `check` reserves the failure, `succeeded` gives it back): once it is empty, the address is throttled for
  every name that has not recently signed in from it, so a flood of guesses across many names costs a handful
  of hashes, not one per name; when no name has signed in from the address lately, `GuardGate` refuses it
  before the request is even parsed;
- nothing here looks the name up, so an unknown name is throttled and locked exactly as a known one.

`check` answers before the (expensive) hash is verified; `failed` / `succeeded` record the outcome.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from .clients import client_address
from .limits import send_problem
from .metrics import CREDENTIAL_REFUSALS
from .ratelimit import RateLimiter

log = logging.getLogger("wiser.guard")


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: float = 0.0
    reason: str = ""  # "address" | "locked" | "name" when refused


class _Bounded(OrderedDict[tuple[str, str], float]):
    """At most `cap` entries; the oldest go first (an attacker cannot grow the process without bound)."""

    def __init__(self, cap: int) -> None:
        super().__init__()
        self.cap = cap

    def put(self, key: tuple[str, str], value: float) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.cap:
            self.popitem(last=False)


class CredentialGuard:
    def __init__(
        self,
        *,
        per_address_per_minute: int = 30,
        lock_after: int = 5,
        lock_minutes: float = 15,
        name_failures_per_minute: int = 30,
        address_failures_per_minute: int = 10,
        trusted_for_hours: float = 24,
        cap: int = 100_000,
    ) -> None:
        self.per_address = per_address_per_minute
        self.address_failures = address_failures_per_minute
        self.lock_after, self.lock_seconds = lock_after, lock_minutes * 60
        self.name_failures = name_failures_per_minute
        self.trusted_seconds = trusted_for_hours * 3600
        # Bursts of ten seconds' worth: a flood gets a few hashes computed at once, not a minute's worth.
        self._addresses = RateLimiter(burst_seconds=10.0, cap=cap)
        self._names = RateLimiter(burst_seconds=10.0, cap=cap)
        self._address_failures = RateLimiter(burst_seconds=60.0, cap=cap)  # a minute's worth: lockouts reachable
        self._failures: dict[tuple[str, str], list[float]] = {}
        self._locked = _Bounded(cap)
        self._trusted = _Bounded(cap)
        self._trusted_addresses: dict[str, float] = {}  # address -> until when some name is trusted from it
        self._cap = cap

    def check(self, address: str, name: str, now: float | None = None) -> Verdict:
        now = time.monotonic() if now is None else now
        until = self._locked.get((address, name))
        if until is not None and until > now:
            return Verdict(False, until - now, "locked")
        wait = self._addresses.take(address, self.per_address, now)
        if wait > 0:
            return Verdict(False, wait, "address")
        if not self._is_trusted(address, name, now):
            wait = self._names.peek(name, self.name_failures, now)  # only failures spend the name's bucket
            if wait > 0:
                return Verdict(False, wait, "name")
            # An attempt reserves a failure of its address now, given back if it succeeds: attempts checked
            # while earlier ones are still hashing cannot all slip through on the same token.
            wait = self._address_failures.take(address, self.address_failures, now)
            if wait > 0:
                return Verdict(False, wait, "address")
        return Verdict(True)

    def address_wait(self, address: str, now: float | None = None) -> float:
        """Seconds until this address may try again (0.0: it may), without spending anything: its attempts are
        over budget, or its failures are and no name has signed in from it lately (so no name could pass)."""
        now = time.monotonic() if now is None else now
        wait = self._addresses.peek(address, self.per_address, now)
        if wait > 0 or self._trusted_addresses.get(address, 0.0) > now:
            return wait
        return self._address_failures.peek(address, self.address_failures, now)

    def failed(self, address: str, name: str, now: float | None = None) -> bool:
        """Record a failure; True when it locked the name from this address."""
        now = time.monotonic() if now is None else now
        self._names.take(name, self.name_failures, now)  # the address's failure was reserved by `check`
        key = (address, name)
        recent = [t for t in self._failures.get(key, []) if now - t < self.lock_seconds]
        recent.append(now)
        if len(recent) >= self.lock_after:
            self._failures.pop(key, None)
            self._locked.put(key, now + self.lock_seconds)
            return True
        if len(self._failures) >= self._cap:
            self._failures.pop(next(iter(self._failures)))
        self._failures[key] = recent
        return False

    def succeeded(self, address: str, name: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if not self._is_trusted(address, name, now):
            self._address_failures.refund(address, self.address_failures)  # reserved by `check`, not needed
        self._failures.pop((address, name), None)
        self._trusted.put((address, name), now + self.trusted_seconds)
        if len(self._trusted_addresses) >= self._cap:
            self._trusted_addresses.pop(next(iter(self._trusted_addresses)))
        self._trusted_addresses[address] = now + self.trusted_seconds

    def _is_trusted(self, address: str, name: str, now: float) -> bool:
        until = self._trusted.get((address, name))
        return until is not None and until > now


class RefusalLog:
    """Refusals counted (a metric) and logged as one summary line per address per minute, never a line each."""

    def __init__(self, service: str, every: float = 60.0, cap: int = 10_000) -> None:
        self.service, self.every, self.cap = service, every, cap
        self._counts: dict[str, tuple[float, int]] = {}  # address -> (window start, refusals since)

    def refused(self, address: str, reason: str, now: float | None = None) -> None:
        CREDENTIAL_REFUSALS.labels(self.service, reason).inc()
        now = time.monotonic() if now is None else now
        start, n = self._counts.get(address, (now, 0))
        if n == 0:
            log.warning("credential attempts refused", extra={"client_address": address, "reason": reason})
        elif now - start >= self.every:
            log.warning(
                "credential attempts refused",
                extra={"client_address": address, "reason": reason, "refused": n, "seconds": round(now - start)},
            )
            start, n = now, 0
        if address not in self._counts and len(self._counts) >= self.cap:
            self._counts.pop(next(iter(self._counts)))
        self._counts[address] = (start, n + 1)


class GuardGate:
    """An address over its budget is answered 429 here, before routing, parsing or anything else: a flood of
    credential requests costs the event loop as little as an HTTP request can. Install it outside the app's own
    middleware (`service.wrap_outermost`), so a refusal makes no span and goes through no middleware."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        guard: CredentialGuard,
        paths: Sequence[str],
        trusted_proxies: str,
        refusals: RefusalLog | None = None,
    ) -> None:
        self.app, self.guard, self.paths, self.trusted = app, guard, frozenset(paths), trusted_proxies
        self.refusals = refusals or RefusalLog("unknown")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "POST" and scope.get("path") in self.paths:
            client = scope.get("client")
            forwarded = next(
                (v.decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == b"x-forwarded-for"), None
            )
            address = client_address(client[0] if client else None, forwarded, self.trusted)
            wait = self.guard.address_wait(address)
            if wait > 0:
                self.refusals.refused(address, "address")
                # A token request's form is small: read it to its end, so the connection stays open for the
                # next request (a new connection per refusal would cost more than the refusal).
                read, whole = 0, False
                while read <= 64 * 1024:
                    message = await receive()
                    if message["type"] != "http.request":
                        return
                    read += len(message.get("body", b""))
                    if not message.get("more_body", False):
                        whole = True
                        break
                await send_problem(
                    send,
                    429,
                    "Too many requests",
                    "Too many attempts; see Retry-After.",
                    "RATE_LIMITED",
                    headers={"Retry-After": str(max(1, int(wait + 0.999)))},
                    keep_alive=whole,
                )
                return
        await self.app(scope, receive, send)
