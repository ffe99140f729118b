"""What intake's use cases are given: ports (unit of work, storage, reference data, clock), built by
`bootstrap.py` from real adapters or by `tests/unit/fakes.py` from in-memory ones."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wiser_servicekit.clients import HashPool
from wiser_servicekit.guard import CredentialGuard, RefusalLog
from wiser_servicekit.ratelimit import RateLimiter

from ..adapters.partners import PartnerDirectory
from ..config import Settings
from .common import now
from .ports import Clock, DismissalReasons, DocumentStorage, UowFactory


@dataclass
class Intake:
    settings: Settings
    uow: UowFactory  # commands: one unit of work each
    store: DocumentStorage
    reference: DismissalReasons
    # The read side (queries.py, the partner directory) reads intake's tables directly: an async_sessionmaker.
    sessions: Any
    clock: Clock = now
    partners: PartnerDirectory = field(default_factory=PartnerDirectory)
    limiter: RateLimiter = field(default_factory=RateLimiter)
    guard: CredentialGuard = field(init=False)  # /oauth/token: per address, per client id, lockout from an address
    refusals: RefusalLog = field(default_factory=lambda: RefusalLog("intake"))  # refused attempts, summarised
    hashes: HashPool = field(default_factory=HashPool)

    def __post_init__(self) -> None:
        s = self.settings
        self.guard = CredentialGuard(
            per_address_per_minute=s.token_per_address_per_minute,
            lock_after=s.token_lock_after,
            lock_minutes=s.token_lock_minutes,
            name_failures_per_minute=s.token_failures_per_client_per_minute,
            address_failures_per_minute=s.token_failures_per_address_per_minute,
        )
