"""Sign-in rules: lockout after repeated failures, idle and absolute session timeouts, who may see what."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from wiser_contracts import roles

ROLES = roles.PEOPLE
STAFF = frozenset(ROLES)
CORRECTORS = roles.CORRECTORS
DISMISSERS = roles.DISMISSERS
ADMINS = roles.ADMINS
AUDITORS = roles.AUDITORS


@dataclass(frozen=True)
class Lockout:
    attempts: int = 5
    minutes: int = 15

    def after_failure(self, failed_attempts: int, now: datetime) -> tuple[int, datetime | None]:
        """New failure count and lock expiry after one more wrong password."""
        failed = failed_attempts + 1
        return (0, now + timedelta(minutes=self.minutes)) if failed >= self.attempts else (failed, None)

    @staticmethod
    def locked(locked_until: datetime | None, now: datetime) -> bool:
        return locked_until is not None and locked_until > now


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)

    def alive(self, last_seen: datetime, expires_at: datetime, now: datetime) -> bool:
        return now < expires_at and now - last_seen < self.idle
