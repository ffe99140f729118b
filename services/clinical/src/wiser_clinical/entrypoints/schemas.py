"""The clinical API's request and response bodies (its OpenAPI)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CaseRow(BaseModel):
    packet_id: uuid.UUID
    tracking_number: str
    status: Literal["queued", "in_review", "md_review", "determined", "closed"]
    stage: Literal["nurse", "md"]
    service_id: str | None
    service_name: str | None
    codes: list[str]
    state_of_service: str
    review_type: Literal["standard", "expedited"]
    urgency: Literal["confirmed", "refused"] | None
    received_at: str
    due_at: str
    seconds_left: int = Field(description="Seconds until due_at (negative: overdue).")
    at_risk: bool
    assigned_to: str | None = Field(description="User id of the reviewer holding the case.")
    assigned_at: str | None
    unassignable: bool = Field(description="Waiting, and no active reviewer could ever hold it as profiles stand.")
    escalated_by: str | None
    packet_version: int


class ReviewerLoad(BaseModel):
    user_id: str
    display_name: str
    role: str
    active: bool
    load: int
    capacity: int


class QueueCounts(BaseModel):
    open: int
    queued: int
    in_review: int
    md_review: int
    at_risk: int
    unassignable: int


class QueueOut(BaseModel):
    cases: list[CaseRow] = Field(description="A page of the matching cases, by time left.")
    total: int = Field(description="How many open cases match the filters.")
    offset: int
    limit: int
    reviewers: list[ReviewerLoad]
    counts: QueueCounts


class EvidenceIO(_In):
    document_id: uuid.UUID | None = None
    page: int | None = Field(default=None, ge=1)
    quote: str = Field(default="", max_length=2000)


class ChecklistItemOut(BaseModel):
    criterion_id: str
    criterion: str
    policy: str
    required: bool
    answer: Literal["met", "not_met", "not_documented"] | None
    evidence: list[dict[str, Any]]
    note: str
    answered_by: str | None


class ChecklistOut(BaseModel):
    service_id: str
    name: str
    version: str
    policies: list[str]
    items: list[ChecklistItemOut]


class LineOut(BaseModel):
    line_no: int
    code: str
    units: int
    date_of_service: str
    description: str


class CaseDetail(CaseRow):
    lines: list[LineOut]
    summary: dict[str, Any]
    packet: dict[str, Any] = Field(description="The packet as intake has it now (read through intake's ops API).")
    documents: list[dict[str, Any]]
    checklist: ChecklistOut | None
    recommendation: dict[str, Any] | None = Field(description="The nurse's escalation: outcome, rationale, lines.")
    notes: list[dict[str, Any]]
    determination: dict[str, Any] | None
    previous: dict[str, Any] | None = Field(description="A resubmission's earlier packet: decision and documents.")


class AnswerIn(_In):
    criterion_id: str = Field(max_length=60, examples=["epid-1"])
    answer: Literal["met", "not_met", "not_documented"]
    evidence: list[EvidenceIO] = Field(default_factory=list, max_length=20)
    note: str = Field(default="", max_length=4000)


class ChecklistIn(_In):
    answers: list[AnswerIn] = Field(min_length=1, max_length=50)


class ReasonIn(_In):
    reason: str = Field(min_length=1, max_length=2000)


class UrgencyIn(_In):
    confirmed: bool
    reason: str = Field(min_length=1, max_length=2000)


class AffirmIn(_In):
    rationale: str | None = Field(default=None, max_length=4000)


class EscalateIn(_In):
    recommendation: Literal["affirmed", "non_affirmed", "partially_affirmed"]
    rationale: str = Field(min_length=1, max_length=4000)
    lines: list[dict[str, Any]] = Field(default_factory=list, max_length=50, description="Per line: code, outcome.")


class UnmetIn(_In):
    criterion_id: str = Field(max_length=60)
    reason: str = Field(default="", max_length=4000, description="Specific to this packet; required.")


class LineDecisionIn(_In):
    code: str = Field(max_length=10)
    outcome: Literal["affirmed", "non_affirmed"]
    unmet: list[UnmetIn] = Field(default_factory=list, max_length=20)


class DecisionIn(_In):
    lines: list[LineDecisionIn] = Field(min_length=1, max_length=50)
    rationale: str | None = Field(default=None, max_length=4000)


class NoteIn(_In):
    note: str = Field(min_length=1, max_length=4000)


class AssignIn(_In):
    reviewer_id: str = Field(min_length=1, max_length=80)
    reason: str = Field(default="", max_length=1000)


class DecisionOut(BaseModel):
    packet_id: uuid.UUID
    outcome: Literal["affirmed", "non_affirmed", "partially_affirmed"]
    lines: list[dict[str, Any]]


class LicenceIO(_In):
    state: str = Field(min_length=2, max_length=2, examples=["NJ"])
    expires: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", examples=["2027-06-30"])


class ReviewerIn(_In):
    display_name: str = Field(default="", max_length=200)
    role: Literal["clinical_reviewer", "medical_director"]
    specialties: list[str] = Field(default_factory=list, max_length=30)
    licences: list[LicenceIO] = Field(default_factory=list, max_length=60)
    services: list[str] = Field(default_factory=list, max_length=30)
    capacity: int = Field(ge=0, le=500)
    active: bool = True
    auto_assign: bool = Field(default=True, description="False: never assigned by the system; takes from the queue.")


class ReviewerOut(BaseModel):
    user_id: str
    display_name: str
    role: str
    specialties: list[str]
    licences: list[dict[str, str]]
    services: list[str]
    capacity: int
    active: bool
    auto_assign: bool = True
    load: int = 0


class UnmetOut(BaseModel):
    criterion_id: str
    criterion: str
    policy: str = Field(examples=["LCD L39240"])
    reason: str
    resubmission: str = Field(description="What to send on resubmission.")


class DeterminationLineOut(BaseModel):
    code: str
    description: str
    units: int
    outcome: str
    unmet: list[UnmetOut]


class PeerToPeerOut(BaseModel):
    phone: str
    hours: str
    how: str


class DeterminationOut(BaseModel):
    packet_id: uuid.UUID
    outcome: Literal["affirmed", "non_affirmed", "partially_affirmed"]
    decided_by: str
    decided_by_role: Literal["clinical_reviewer", "medical_director"]
    decided_at: str
    rationale: str | None
    utn: str | None
    lines: list[DeterminationLineOut]
    peer_to_peer: PeerToPeerOut
