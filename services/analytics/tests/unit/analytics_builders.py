"""Records of one packet's journey, as the live events would give them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from wiser_analytics.domain.facts import Record

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def received(pid: uuid.UUID, at: datetime = T0, **over: Any) -> Record:
    data = {
        "channel": "portal",
        "review_type": "standard",
        "state_of_service": "NJ",
        "service_codes": ["64581"],
        "received_at": at.isoformat(),
        "due_at": (at + timedelta(days=3)).isoformat(),
        "submission_type": "initial",
        "practitioner_npi": "1234567893",
    }
    data.update(over)
    return Record(uuid.uuid4(), pid, "received", 0, at, data)


def move(pid: uuid.UUID, version: int, frm: str, to: str, at: datetime, tid: str = "T?", **over: Any) -> Record:
    data = {
        "transition": tid,
        "from_state": frm,
        "to_state": to,
        "actor_type": "system",
        "actor_id": "intake",
        "outcome": None,
        "lines": [],
        "dismissal_codes": [],
        "closure_reason": None,
    }
    data.update(over)
    return Record(uuid.uuid4(), pid, "transition", version, at, data)


def journey(pid: uuid.UUID, outcome: str = "affirmed", hours: float = 30) -> list[Record]:
    """Received → validating → clinical_queue → clinical_review → determined (T9 by nurse-1) → closed."""
    h = timedelta(hours=1)
    return [
        received(pid),
        move(pid, 2, "received", "validating", T0, "T1"),
        move(pid, 3, "validating", "clinical_queue", T0 + h, "T2"),
        move(pid, 4, "clinical_queue", "clinical_review", T0 + 2 * h, "T7"),
        move(
            pid,
            5,
            "clinical_review",
            "determined",
            T0 + hours * h,
            "T9",
            actor_type="user",
            actor_id="nurse-1",
            outcome=outcome,
            lines=[{"code": "64581", "outcome": outcome}],
        ),
        move(pid, 6, "determined", "closed", T0 + (hours + 5) * h, "T16", closure_reason="delivered"),
    ]
