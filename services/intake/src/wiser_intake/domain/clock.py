"""Review clocks (DOMAIN.md): standard 3 calendar days, expedited 2."""

from __future__ import annotations

from datetime import datetime, timedelta

CLOCKS = {"standard": timedelta(days=3), "expedited": timedelta(days=2)}


def due_at(received_at: datetime, review_type: str) -> datetime:
    return received_at + CLOCKS[review_type]


def at_risk(due: datetime, now: datetime, window: timedelta) -> bool:
    return due - now <= window
