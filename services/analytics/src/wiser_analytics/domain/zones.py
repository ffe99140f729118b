"""Calendar days in the state of service's time zone (DOMAIN.md: the six WISeR states)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

STATE_ZONES: dict[str, str] = {
    "NJ": "America/New_York",
    "OH": "America/New_York",
    "OK": "America/Chicago",
    "TX": "America/Chicago",
    "AZ": "America/Phoenix",
    "WA": "America/Los_Angeles",
}
DEFAULT_ZONE = "UTC"


def zone_of(state_of_service: str | None) -> str:
    return STATE_ZONES.get((state_of_service or "").upper(), DEFAULT_ZONE)


def local_day(at: datetime | None, state_of_service: str | None) -> date | None:
    """The calendar day `at` falls on in the state of service's time zone."""
    if at is None:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(ZoneInfo(zone_of(state_of_service))).date()
