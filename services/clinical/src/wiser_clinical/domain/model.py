"""What the rules read: reviewer profiles and cases, as plain values."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from wiser_contracts import roles

NURSE = roles.CLINICAL_REVIEWER
MD = roles.MEDICAL_DIRECTOR
REVIEWER_ROLES = (NURSE, MD)
STANDARD_CLOCK = timedelta(days=3)  # DOMAIN.md: standard 3 calendar days from receipt


class Status(StrEnum):
    QUEUED = "queued"  # clinical_queue: waiting for a nurse
    IN_REVIEW = "in_review"  # clinical_review
    MD_REVIEW = "md_review"  # md_review (assigned to a medical director, or waiting for one)
    DETERMINED = "determined"
    CLOSED = "closed"  # withdrawn before a decision


class Stage(StrEnum):
    NURSE = "nurse"
    MD = "md"


OPEN = frozenset({Status.QUEUED, Status.IN_REVIEW, Status.MD_REVIEW})


@dataclass(frozen=True)
class Licence:
    state: str
    expires: date

    def valid_on(self, day: date) -> bool:
        return day <= self.expires


@dataclass(frozen=True)
class Reviewer:
    user_id: str
    role: str
    capacity: int
    licences: tuple[Licence, ...] = ()
    services: frozenset[str] = frozenset()
    specialties: frozenset[str] = frozenset()
    active: bool = True
    display_name: str = ""
    auto_assign: bool = True  # False: the system never gives them cases; they take from the queue

    def licensed_in(self, state: str, day: date) -> bool:
        return any(lic.state == state and lic.valid_on(day) for lic in self.licences)

    def as_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "display_name": self.display_name,
            "role": self.role,
            "specialties": sorted(self.specialties),
            "licences": [{"state": lic.state, "expires": lic.expires.isoformat()} for lic in self.licences],
            "services": sorted(self.services),
            "capacity": self.capacity,
            "active": self.active,
            "auto_assign": self.auto_assign,
        }


@dataclass(frozen=True)
class Line:
    line_no: int
    code: str
    units: int
    date_of_service: str = ""


@dataclass
class Case:
    packet_id: uuid.UUID
    tracking_number: str
    status: Status
    packet_version: int
    state_of_service: str
    review_type: str
    received_at: datetime
    due_at: datetime
    lines: tuple[Line, ...]
    service_id: str | None = None
    urgency: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    checklist_version: str | None = None
    declined_by: tuple[str, ...] = ()
    escalated_by: str | None = None
    recommendation: dict[str, Any] | None = None
    enqueued_at: datetime | None = None

    @property
    def stage(self) -> Stage:
        return Stage.MD if self.status == Status.MD_REVIEW else Stage.NURSE

    @property
    def expedited(self) -> bool:
        return self.review_type == "expedited"

    def codes(self) -> list[str]:
        return [line.code for line in self.lines]


@dataclass(frozen=True)
class Assignment:
    packet_id: uuid.UUID
    reviewer_id: str
    stage: Stage
    assigned_by: str
    assigned_at: datetime
