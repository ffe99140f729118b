"""Every event and command of the packet lifecycle (STATE_MACHINE.md).

Events are named in the past tense, commands in the imperative. Each class's
`TYPE` is its routing key: `<producer>.<aggregate>.<event>` for events,
`<consumer>.<command>` for commands.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .envelope import Command, Event, Message


class PacketState(StrEnum):
    RECEIVED = "received"
    VALIDATING = "validating"
    MANUAL_REVIEW = "manual_review"
    CLINICAL_QUEUE = "clinical_queue"
    CLINICAL_REVIEW = "clinical_review"
    MD_REVIEW = "md_review"
    DETERMINED = "determined"
    LETTER_REVIEW = "letter_review"
    DELIVERING = "delivering"
    DELIVERY_FAILED = "delivery_failed"
    CLOSED = "closed"


class Outcome(StrEnum):
    AFFIRMED = "affirmed"
    NON_AFFIRMED = "non_affirmed"
    PARTIALLY_AFFIRMED = "partially_affirmed"
    DISMISSED = "dismissed"


class ValidationOutcome(StrEnum):
    PASSED = "passed"
    NEEDS_CORRECTION = "needs_correction"
    DISMISS = "dismiss"


class ActorType(StrEnum):
    SYSTEM = "system"
    USER = "user"
    PARTNER = "partner"


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Actor(_Part):
    type: ActorType = Field(description="Who acted: the system, a person, or a partner client.")
    id: str = Field(description="Service name, user id or partner client id.", examples=["validation"])
    roles: tuple[str, ...] = Field(default=(), description="Roles the actor held when acting.")


class Finding(_Part):
    check: str = Field(description="The validation check that produced this finding.", examples=["mbi_format"])
    code: str = Field(description="Machine-readable finding code (DOMAIN.md).", examples=["MBI_FORMAT"])
    severity: Literal["dismiss", "correction", "skipped", "info"] = Field(description="What the finding means.")
    field: str | None = Field(default=None, description="Packet field it points at.", examples=["beneficiary.mbi"])
    message: str = Field(default="", description="Human-readable explanation (never PHI).")
    suggestion: str | None = Field(default=None, description="What to do about it.")


class LineDecision(_Part):
    code: str = Field(description="CPT/HCPCS code of the service line.", examples=["64581"])
    outcome: Outcome = Field(description="Decision for this service line.")
    reasons: tuple[str, ...] = Field(default=(), description="Specific reasons, one per unmet criterion.")


class DismissalReason(_Part):
    code: str = Field(description="Dismissal code (DOMAIN.md).", examples=["NON_WISER_SERVICE"])
    reason: str = Field(default="", description="Why, in words.")
    corrective_action: str = Field(
        default="", description="What the requester can do about it, as the reference list in force says."
    )


PACKET_VERSION = Field(
    default=None,
    description="The packet version this was produced from (e.g. the `version` of the transition it acts on), "
    "so history shows what each decision was based on.",
)


class TriggerEvent(Event):
    """An outcome event that moves a packet (or changes it in place)."""

    packet_version: int | None = PACKET_VERSION


class TriggerCommand(Command):
    """A command that moves a packet."""

    packet_version: int | None = PACKET_VERSION


# ---------------------------------------------------------------- intake events


class PacketReceived(Event):
    """A packet and its documents were stored by intake."""

    TYPE = "intake.packet.received"
    tracking_number: str = Field(description="Our tracking number.", examples=["WSR-2026-000123"])
    channel: str = Field(description="How it came in.", examples=["api"])
    review_type: Literal["standard", "expedited"]
    state_of_service: str = Field(description="Two-letter state the service is in.", examples=["NJ"])
    service_codes: tuple[str, ...] = Field(default=())
    received_at: datetime
    due_at: datetime
    submission_type: Literal["initial", "resubmission"] | None = Field(
        default=None, description="Initial request or resubmission (analytics: percent affirmed after resubmission)."
    )
    practitioner_npi: str | None = Field(
        default=None,
        description="The ordering practitioner's NPI (analytics: gold-card candidates).",
        examples=["1234567893"],
    )
    partner_client_id: str | None = Field(
        default=None,
        description="The integration partner's client that submitted it, if one did (outbound: whose webhooks "
        "and deliveries).",
        examples=["demo-partner"],
    )


class PacketTransitioned(Event):
    """A packet moved from one state to another (the only writer is intake)."""

    TYPE = "intake.packet.transitioned"
    transition: str = Field(description="Transition id from STATE_MACHINE.md.", examples=["T2"])
    from_state: PacketState
    to_state: PacketState
    version: int = Field(description="Packet version after the transition.")
    actor: Actor
    reason: str | None = None
    outcome: Outcome | None = Field(default=None, description="Set when the packet is determined.")
    utn: str | None = Field(default=None, description="Set when known.")
    validation_run: int | None = Field(default=None, description="Validation run number when entering validating.")
    closure_reason: Literal["delivered", "withdrawn"] | None = None
    lines: tuple[LineDecision, ...] = Field(
        default=(), description="Outcome per service line, set when the packet is determined on the merits."
    )
    dismissal_codes: tuple[str, ...] = Field(default=(), description="Set when the packet is determined dismissed.")

    def routing_key(self) -> str:
        return f"{self.TYPE}.{self.to_state.value}"


class TransitionRejected(Event):
    """A trigger asked for a transition that is illegal now; nothing changed."""

    TYPE = "intake.transition.rejected"
    trigger_type: str = Field(description="Type of the triggering message or HTTP action.")
    trigger_message_id: uuid.UUID | None = None
    current_state: PacketState | None = None
    code: str = Field(description="Machine-readable reason.", examples=["ILLEGAL_TRANSITION"])
    detail: str = ""


class PacketSlaBreached(Event):
    """A packet passed its due_at before it was determined."""

    TYPE = "intake.packet.sla_breached"
    state: PacketState
    due_at: datetime


class PacketCorrected(Event):
    """Ops corrected fields of a packet (T5); field names only, never values."""

    TYPE = "intake.packet.corrected"
    fields: tuple[str, ...]
    version: int


class PacketUtnRecorded(Event):
    """The MAC's UTN was recorded on a determined packet (a change in place: history row, version bump)."""

    TYPE = "intake.packet.utn_recorded"
    utn: str = Field(examples=["JLA26001234567"])
    version: int


class PacketReclassified(Event):
    """An expedited request whose urgency the reviewer did not confirm is now standard (a change in place)."""

    TYPE = "intake.packet.reclassified"
    review_type: Literal["standard", "expedited"] = "standard"
    due_at: datetime
    version: int
    reason: str | None = None


class PacketReassigned(Event):
    """A supervisor moved the packet's review to another reviewer (a change in place)."""

    TYPE = "intake.packet.reassigned"
    reviewer_id: str
    version: int


class WebhookRegistered(Event):
    """A partner registered a webhook on intake's partner API; outbound owns it from here (delivery)."""

    TYPE = "intake.webhook.registered"
    webhook_id: uuid.UUID
    client_id: str = Field(description="The partner client that registered it (its packets only).")
    url: str
    events: tuple[str, ...] = Field(examples=[("packet.transitioned", "letter.available")])
    sealed_secret: str = Field(
        description="The signing secret, Fernet-sealed with the webhook seal key only intake and outbound hold; "
        "never the secret itself."
    )
    registered_at: datetime


class WebhookRemoved(Event):
    """A partner removed a webhook; outbound stops delivering to it."""

    TYPE = "intake.webhook.removed"
    webhook_id: uuid.UUID
    client_id: str


# ------------------------------------------------------------ validation events


class PacketValidated(TriggerEvent):
    """The automated checks of one validation run finished (T2, T3, T4)."""

    TYPE = "validation.packet.validated"
    run: int = Field(description="Validation run number this result is for.", examples=[1])
    outcome: ValidationOutcome
    findings: tuple[Finding, ...] = ()
    dismissal_reasons: tuple[DismissalReason, ...] = Field(
        default=(), description="Every dismissal reason found; the first is the main one."
    )


# -------------------------------------------------------------- clinical events


class ReviewAssigned(TriggerEvent):
    """A clinical reviewer was assigned the packet (T7)."""

    TYPE = "clinical.review.assigned"
    reviewer_id: str


class ReviewReleased(TriggerEvent):
    """The assigned reviewer (or a supervisor) put the packet back in the queue (T8)."""

    TYPE = "clinical.review.released"
    reviewer_id: str
    reason: str | None = None


class ReviewEscalated(TriggerEvent):
    """A nurse sent the packet to a medical director (T10)."""

    TYPE = "clinical.review.escalated"
    reviewer_id: str
    recommendation: Outcome
    rationale: str


class ReviewReturned(TriggerEvent):
    """A medical director returned the packet to the nurse (T12)."""

    TYPE = "clinical.review.returned"
    medical_director_id: str
    note: str


class ReviewReassigned(TriggerEvent):
    """A supervisor reassigned the case in clinical_review or md_review (change in place, no state change)."""

    TYPE = "clinical.review.reassigned"
    from_reviewer_id: str | None = None
    to_reviewer_id: str
    reassigned_by: str


class ReviewReclassified(TriggerEvent):
    """The reviewer did not confirm the urgency of an expedited request: it is now standard (change in place)."""

    TYPE = "clinical.review.reclassified"
    reviewer_id: str
    reason: str


class DeterminationRecorded(TriggerEvent):
    """A clinician decided the packet (T9 from clinical_review, T11 from md_review)."""

    TYPE = "clinical.determination.recorded"
    outcome: Outcome
    decided_by: str
    decided_by_role: Literal["clinical_reviewer", "medical_director"]
    decided_at: datetime
    lines: tuple[LineDecision, ...] = ()
    rationale: str | None = None


class UtnAssigned(TriggerEvent):
    """The MAC issued the UTN for a determination (added exactly once)."""

    TYPE = "clinical.utn.assigned"
    utn: str = Field(pattern=r"^[A-Z0-9]{2}[AH][0-9]{11}$", examples=["JLA26001234567"])


# --------------------------------------------------------------- letters events


class LetterDrafted(TriggerEvent):
    """A decision letter passed compliance checks and awaits approval (T13)."""

    TYPE = "letters.letter.drafted"
    letter_id: uuid.UUID
    kind: str = Field(examples=["affirmation"])
    letter_version: int = 1


class LetterApproved(TriggerEvent):
    """A person (or policy, for clean affirmations) approved the letter (T14)."""

    TYPE = "letters.letter.approved"
    letter_id: uuid.UUID
    approved_by: str = Field(description="User id, or `policy:auto-affirmation`.")
    approver_role: str | None = None


class LetterRejected(TriggerEvent):
    """The approver rejected the draft; letters will redraft (T15)."""

    TYPE = "letters.letter.rejected"
    letter_id: uuid.UUID
    rejected_by: str
    reason: str


# -------------------------------------------------------------- outbound events


class DeliveryCompleted(TriggerEvent):
    """Every required recipient confirmed receipt (T16)."""

    TYPE = "outbound.delivery.completed"
    delivery_id: uuid.UUID
    channels: tuple[str, ...] = ()


class DeliveryFailed(TriggerEvent):
    """A required channel failed after all retries (T17)."""

    TYPE = "outbound.delivery.failed"
    delivery_id: uuid.UUID
    channel: str
    error: str


# ------------------------------------------------------------- intake commands

_REQUESTED_BY_ROLES = "Deprecated and ignored: roles are read only from the verified `on_behalf_of` token."
_ON_BEHALF_OF = (
    "The person's identity token (JWT, EdDSA) signed by the gateway, bound to this packet and this command"
    " (`cmd` claim: packet_id and action = the command's type), valid when the command was issued."
    " Without a valid one the command changes nothing."
)


class RetryDelivery(TriggerCommand):
    """Ops asked outbound to retry a failed delivery; move the packet back to delivering (T18)."""

    TYPE = "intake.retry_delivery"
    requested_by: str
    requested_by_roles: tuple[str, ...] = Field(default=(), description=_REQUESTED_BY_ROLES)
    on_behalf_of: str | None = Field(default=None, description=_ON_BEHALF_OF)


class WithdrawPacket(TriggerCommand):
    """Close a packet as withdrawn before determination (T19)."""

    TYPE = "intake.withdraw_packet"
    requested_by: str
    requested_by_roles: tuple[str, ...] = Field(default=(), description=_REQUESTED_BY_ROLES)
    on_behalf_of: str | None = Field(default=None, description=_ON_BEHALF_OF)
    reason: str


class RevalidatePacket(TriggerCommand):
    """Send a packet in manual review back to validating without field changes (T5: ops re-run, e.g. after
    PEER_UNAVAILABLE)."""

    TYPE = "intake.revalidate_packet"
    requested_by: str
    requested_by_roles: tuple[str, ...] = Field(default=(), description=_REQUESTED_BY_ROLES)
    on_behalf_of: str | None = Field(default=None, description=_ON_BEHALF_OF)
    reason: str


ALL_MESSAGES: tuple[type[Message], ...] = (
    PacketReceived,
    PacketTransitioned,
    TransitionRejected,
    PacketSlaBreached,
    PacketCorrected,
    PacketUtnRecorded,
    PacketReclassified,
    PacketReassigned,
    WebhookRegistered,
    WebhookRemoved,
    PacketValidated,
    ReviewAssigned,
    ReviewReleased,
    ReviewEscalated,
    ReviewReturned,
    ReviewReassigned,
    ReviewReclassified,
    DeterminationRecorded,
    UtnAssigned,
    LetterDrafted,
    LetterApproved,
    LetterRejected,
    DeliveryCompleted,
    DeliveryFailed,
    RetryDelivery,
    WithdrawPacket,
    RevalidatePacket,
)

BY_TYPE: dict[str, type[Message]] = {m.TYPE: m for m in ALL_MESSAGES}
