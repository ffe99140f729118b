"""Peer clients on their real protocols: HETS (X12 270/271 over HTTP), NPPES (NPI Registry API v2.1), PECOS.

Every call has a timeout, bounded retries with exponential backoff and a circuit
breaker per peer; a peer still unreachable after its retry budget is reported
as unavailable, which validation turns into PEER_UNAVAILABLE.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import httpx
from prometheus_client import Counter

from wiser_x12 import EligibilityInquiry, EligibilityResponse, Envelope, X12Error, build_270, parse_271
from wiser_x12 import eligibility as x12_eligibility

from ..domain.hets import AaaMeaning, aaa_meanings
from ..domain.model import Eligibility, Enrollment, NpiRecord, PacketFacts
from ..usecases.ports import PeerUnavailable

log = logging.getLogger("wiser.validation.peers")
T = TypeVar("T")


class PeerBusy(Exception):
    """The peer answered that it cannot respond now (worth retrying)."""


class CircuitBreaker:
    """Opens after `threshold` consecutive failures; lets one trial call through after `reset_after` seconds."""

    def __init__(self, threshold: int = 5, reset_after: float = 30.0) -> None:
        self.threshold, self.reset_after = threshold, reset_after
        self.failures = 0
        self.opened_at: float | None = None

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half_open" if time.monotonic() - self.opened_at >= self.reset_after else "open"

    def allow(self) -> bool:
        return self.state != "open"

    def success(self) -> None:
        self.failures, self.opened_at = 0, None

    def failure(self) -> None:
        self.failures += 1
        if self.failures >= self.threshold or self.state == "half_open":
            self.opened_at = time.monotonic()


@dataclass
class Resilience:
    timeout: float = 5.0
    attempts: int = 3
    backoff: float = 0.5
    breaker: CircuitBreaker | None = None

    async def call(self, peer: str, fn: Callable[[], Awaitable[T]]) -> T:
        breaker = self.breaker or CircuitBreaker()
        self.breaker = breaker
        for attempt in range(self.attempts):
            if not breaker.allow():
                raise PeerUnavailable(f"{peer}: circuit open")
            try:
                result = await asyncio.wait_for(fn(), self.timeout)
            except (httpx.TransportError, httpx.HTTPStatusError, TimeoutError, PeerBusy, X12Error) as e:
                breaker.failure()
                log.warning("peer call failed", extra={"peer": peer, "attempt": attempt + 1, "error": type(e).__name__})
                if attempt + 1 < self.attempts:
                    await asyncio.sleep(self.backoff * 2**attempt)
                continue
            breaker.success()
            return result
        raise PeerUnavailable(f"{peer}: no answer after {self.attempts} attempts")


def _raise_for_server_error(r: httpx.Response) -> None:
    if r.status_code >= 500 or r.status_code == 429:
        raise httpx.HTTPStatusError(f"{r.status_code}", request=r.request, response=r)


HETS_SUBMITTER_REJECTIONS = Counter(
    "wiser_hets_submitter_rejections_total",
    "HETS answers blaming our own submitter set-up (AAA in 2000A/2100A/2100B, or unknown): an ops alert",
    ["loop", "code"],
)


def _meanings(response: EligibilityResponse) -> list[AaaMeaning]:
    return aaa_meanings((rej.loop, rej.reason_code) for rej in response.rejections)


class HetsClient:
    """Real-time eligibility: builds a 005010X279A1 270 for every date of service (their span), parses the 271.

    The information receiver (2100B) is this organisation (`receiver_name`, `receiver_npi` from settings), not
    the requesting practitioner. AAA answers are read per DOMAIN.md's table (`domain.hets`): 42/80 are retried;
    a date HETS will not answer for is asked again for today (in the state of service).
    """

    _control = itertools.count(int(time.time()) % 100_000_000)

    def __init__(
        self,
        url: str,
        sender_id: str,
        receiver_id: str,
        http: httpx.AsyncClient,
        resilience: Resilience,
        *,
        receiver_name: str = "WISER REVIEW ORGANISATION",
        receiver_npi: str = "1234567893",
    ):
        self.url, self.sender_id, self.receiver_id = url, sender_id, receiver_id
        self.http, self.resilience = http, resilience
        self.receiver_name, self.receiver_npi = receiver_name, receiver_npi

    async def eligibility(self, facts: PacketFacts, today: date) -> Eligibility:
        """HETS's answer over every date of service of the packet; `today` is asked about instead when HETS
        will not answer for those dates."""
        dates = sorted({line.date_of_service for line in facts.services})
        response = await self.resilience.call("hets", lambda: self._ask(facts, dates[0], dates[-1]))
        asked_for = None
        if (meanings := _meanings(response)) and meanings[0] is AaaMeaning.DATE_OUTSIDE:
            asked_for = today
            response = await self.resilience.call("hets", lambda: self._ask(facts, today, today))
        return to_eligibility(response, dates, asked_for)

    def inquiry(self, facts: PacketFacts, first: date, last: date) -> EligibilityInquiry:
        """The 270's content: this organisation asks about the packet's beneficiary over [first, last]."""
        return EligibilityInquiry(
            trace_number=uuid.uuid4().hex[:15].upper(),
            payer_id="CMS",
            provider_npi=self.receiver_npi,
            provider_name=self.receiver_name,
            mbi=facts.beneficiary.mbi,
            first_name=facts.beneficiary.first_name.upper(),
            last_name=facts.beneficiary.last_name.upper(),
            date_of_birth=facts.beneficiary.date_of_birth,
            gender=None,
            date_of_service=first,
            date_of_service_end=last if last != first else None,
        )

    async def _ask(self, facts: PacketFacts, first: date, last: date) -> EligibilityResponse:
        control = next(self._control) % 1_000_000_000
        envelope = Envelope(
            sender_id=self.sender_id,
            receiver_id=self.receiver_id,
            interchange_control=control or 1,
            group_control=control or 1,
            transaction_control=f"{control % 10000:04d}",
            created=datetime.now(UTC),
        )
        body = build_270(self.inquiry(facts, first, last), envelope)
        r = await self.http.post(self.url, content=body, headers={"Content-Type": "application/EDI-X12"})
        _raise_for_server_error(r)
        response = parse_271(r.text)
        if AaaMeaning.BUSY in _meanings(response):
            raise PeerBusy("HETS: unable to respond at the current time")
        return response


def to_eligibility(response: EligibilityResponse, dates: list[date], asked_for: date | None = None) -> Eligibility:
    """What a 271 says about the beneficiary and Original Medicare on every date of service."""
    meanings = _meanings(response)
    first = meanings[0] if meanings else None
    if first in (AaaMeaning.SUBMITTER, AaaMeaning.BUSY, AaaMeaning.DATE_OUTSIDE):
        # Never the beneficiary's fault: a person looks at the packet, ops look at our set-up.
        for rej in response.rejections:
            HETS_SUBMITTER_REJECTIONS.labels(rej.loop, rej.reason_code).inc()
        log.error(
            "HETS refused the inquiry for a reason that is not the beneficiary's",
            extra={"alert": True, "aaa": ",".join(f"{r.loop}:{r.reason_code}" for r in response.rejections)},
        )
        return Eligibility(status="unavailable", submitter_problem=first is AaaMeaning.SUBMITTER)
    if first is AaaMeaning.NOT_FOUND or (first is None and not response.benefits):
        return Eligibility(status="not_found")
    if first in (AaaMeaning.NAME_MISMATCH, AaaMeaning.DOB_MISMATCH):
        return Eligibility(
            status="mismatch",
            name_mismatch=AaaMeaning.NAME_MISMATCH in meanings,
            dob_mismatch=AaaMeaning.DOB_MISMATCH in meanings,
        )
    part_a = all(x12_eligibility.part_in_effect(response, "MA", d) for d in dates)
    part_b = all(x12_eligibility.part_in_effect(response, "MB", d) for d in dates)
    return Eligibility(
        status="found",
        first_name=response.first_name,
        last_name=response.last_name,
        date_of_birth=response.date_of_birth,
        date_of_death=response.date_of_death,
        part_a_active_on_dos=part_a,
        part_b_active_on_dos=part_b,
        medicare_advantage_on_dos=any(x12_eligibility.medicare_advantage(response, d) is not None for d in dates),
        railroad=bool(x12_eligibility.railroad(response)),
        medicaid_only=not part_a and not part_b and x12_eligibility.medicaid(response),
        asked_for=asked_for,
    )


class TtlCache:
    """Answers that change slowly (NPPES, PECOS are refreshed weekly) kept for a while; failures never cached."""

    def __init__(self, ttl: float = 600.0, size: int = 10_000) -> None:
        self.ttl, self.size = ttl, size
        self._items: dict[str, tuple[float, Any]] = {}

    def get(self, key: str) -> Any | None:
        hit = self._items.get(key)
        if hit is None or time.monotonic() - hit[0] > self.ttl:
            return None
        return hit[1]

    def put(self, key: str, value: Any) -> None:
        if len(self._items) >= self.size:
            self._items.clear()
        self._items[key] = (time.monotonic(), value)


class NppesClient:
    """NPI Registry API v2.1: `?version=2.1&number=<npi>`."""

    def __init__(self, url: str, http: httpx.AsyncClient, resilience: Resilience, cache: TtlCache | None = None):
        self.url, self.http, self.resilience = url, http, resilience
        self.cache = cache or TtlCache()

    async def lookup(self, npi: str) -> NpiRecord:
        cached = self.cache.get(npi)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        record = await self._lookup(npi)
        self.cache.put(npi, record)
        return record

    async def _lookup(self, npi: str) -> NpiRecord:
        async def ask() -> dict[str, Any]:
            r = await self.http.get(self.url, params={"version": "2.1", "number": npi})
            _raise_for_server_error(r)
            r.raise_for_status()
            return r.json()  # type: ignore[no-any-return]

        body = await self.resilience.call("nppes", ask)
        if body.get("Errors"):
            raise PeerUnavailable("nppes: " + "; ".join(str(e.get("description")) for e in body["Errors"]))
        if not body.get("result_count"):
            return NpiRecord(npi=npi, status="not_found", state=None)
        result = body["results"][0]
        basic = result.get("basic", {})
        location: dict[str, Any] = next(
            (a for a in result.get("addresses", []) if a.get("address_purpose") == "LOCATION"), {}
        )
        if basic.get("status") == "A":
            return NpiRecord(npi=npi, status="active", state=location.get("state"))
        return NpiRecord(npi=npi, status="deactivated", state=location.get("state"))


class PecosClient:
    """Medicare enrollment by NPI."""

    def __init__(self, url: str, http: httpx.AsyncClient, resilience: Resilience, cache: TtlCache | None = None):
        self.url, self.http, self.resilience = url.rstrip("/"), http, resilience
        self.cache = cache or TtlCache()

    async def enrollment(self, npi: str) -> Enrollment:
        cached = self.cache.get(npi)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        record = await self._enrollment(npi)
        self.cache.put(npi, record)
        return record

    async def _enrollment(self, npi: str) -> Enrollment:
        async def ask() -> dict[str, Any] | None:
            r = await self.http.get(f"{self.url}/{npi}")
            if r.status_code == 404:
                return None
            _raise_for_server_error(r)
            r.raise_for_status()
            return r.json()  # type: ignore[no-any-return]

        body = await self.resilience.call("pecos", ask)
        if body is None:
            return Enrollment(npi=npi, status="not_found", provider_type=None, state=None)
        return Enrollment(
            npi=npi,
            status="enrolled" if body.get("enrolled") else "not_enrolled",
            provider_type=body.get("provider_type"),
            state=body.get("state"),
        )


@dataclass
class Peers:
    hets: HetsClient
    nppes: NppesClient
    pecos: PecosClient
