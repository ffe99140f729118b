"""The API's typed responses."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Period(BaseModel):
    start: str = Field(
        description="First day of the period (inclusive), a calendar day in the state of service's zone."
    )
    end: str = Field(description="Last day of the period (inclusive).")


class StatusOut(BaseModel):
    counts: dict[str, int] = Field(description="Packets in each state now (every state listed, zeros included).")
    total: int


class PacketRow(BaseModel):
    packet_id: str
    state: str | None
    review_type: str | None
    state_of_service: str | None
    channel: str | None
    service_codes: list[str]
    received_at: str
    due_at: str | None
    age_hours: float = Field(description="Hours since received.")
    aging_bucket: str = Field(description="lt_1d, d1_2, d2_3 or gt_3d (age since received).")
    clock: str | None = Field(description="`at_risk` or `breached` before a determination, else null.")
    outcome: str | None
    reviewer: str | None
    met: bool | None = Field(description="Determined by due_at (null until determined).")


class PacketsOut(BaseModel):
    items: list[PacketRow]


class AgingRow(BaseModel):
    state: str
    lt_1d: int = Field(description="Received less than 1 day ago.")
    d1_2: int = Field(description="Received 1 to 2 days ago.")
    d2_3: int = Field(description="Received 2 to 3 days ago.")
    gt_3d: int = Field(description="Received 3 or more days ago.")
    at_risk: int = Field(description="Not determined, due_at not passed and within the at-risk window.")
    breached: int = Field(description="Not determined and due_at passed.")
    total: int


class AgingOut(BaseModel):
    at: str
    at_risk_hours: float
    states: list[AgingRow]


class SlaRow(BaseModel):
    review_type: str = Field(description="standard, expedited or all")
    decided: int
    met: int = Field(description="Determined by due_at.")
    missed: int
    percent_met: float | None


class SlaOut(Period):
    rows: list[SlaRow]


class TimeToDecision(BaseModel):
    decided: int
    average_hours: float | None = Field(description="Mean hours from received_at to the decision.")
    median_hours: float | None = Field(description="Median hours; of an even count, the mean of the two middle values.")


class CmsOut(Period):
    determinations: int = Field(description="Every determination recorded in the period, dismissals included.")
    counts: dict[str, int]
    percent_of_all: dict[str, float | None] = Field(description="Each outcome as a percent of all determinations.")
    merits_decisions: int = Field(description="Determinations on the merits: all but dismissals.")
    percent_of_merits: dict[str, float | None] = Field(
        description="Affirmed, non-affirmed, partially affirmed of merits."
    )
    time_to_decision: dict[str, TimeToDecision] = Field(description="By review type at decision (standard, expedited).")
    resubmissions_decided: int = Field(description="Merits decisions on resubmissions.")
    resubmissions_affirmed: int
    percent_affirmed_after_resubmission: float | None


class ThroughputRow(BaseModel):
    day: str
    received: int
    determined: int
    closed: int


class ThroughputOut(Period):
    days: list[ThroughputRow]


class TrendRow(BaseModel):
    day: str
    affirmed: int
    non_affirmed: int
    partially_affirmed: int
    dismissed: int
    decided: int
    met: int
    percent_met: float | None
    average_hours: float | None


class TrendOut(Period):
    days: list[TrendRow]


class TurnaroundRow(BaseModel):
    bin: str
    standard: int
    expedited: int


class TurnaroundOut(Period):
    bins: list[TurnaroundRow]


class ReviewerRow(BaseModel):
    reviewer: str = Field(description="The clinician who recorded the determination (T9/T11).")
    decided: int
    affirmed: int
    non_affirmed: int
    partially_affirmed: int
    met: int
    percent_met: float | None
    average_hours: float | None
    median_hours: float | None


class ReviewersOut(Period):
    reviewers: list[ReviewerRow]


class OutcomeRow(BaseModel):
    service_code: str
    state_of_service: str
    lines: int = Field(description="Service lines decided (a dismissal counts each of the packet's codes).")
    affirmed: int
    non_affirmed: int
    partially_affirmed: int
    dismissed: int
    percent_affirmed: float | None


class OutcomesOut(Period):
    rows: list[OutcomeRow]


class DismissalRow(BaseModel):
    code: str
    count: int = Field(description="Dismissals citing this code (one dismissal may cite several).")
    percent_of_dismissals: float | None


class DismissalsOut(Period):
    rows: list[DismissalRow]


class ChannelRow(BaseModel):
    channel: str
    received: int
    percent: float | None


class ChannelsOut(Period):
    rows: list[ChannelRow]


class GoldCardRow(BaseModel):
    practitioner_npi: str
    requests: int = Field(description="Requests received in the period.")
    merits_decisions: int
    affirmed: int
    affirmation_rate: float | None = Field(description="Affirmed ÷ merits decisions of those requests, in percent.")


class GoldCardOut(Period):
    min_requests: int
    threshold_percent: float
    candidates: list[GoldCardRow]


class RebuildOut(BaseModel):
    history_rows: int
    packets: int
