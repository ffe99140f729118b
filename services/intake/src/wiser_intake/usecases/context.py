"""What the usecases need, built once by bootstrap (tests pass their own)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wiser_servicekit.ratelimit import RateLimiter

from ..adapters.partners import PartnerDirectory
from ..adapters.storage import DocumentStore
from ..config import Settings


@dataclass
class Intake:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    store: DocumentStore
    partners: PartnerDirectory = field(default_factory=PartnerDirectory)
    limiter: RateLimiter = field(default_factory=RateLimiter)
