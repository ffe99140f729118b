"""A packet's letter set and its versions: statuses and who may move them (pure)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from enum import StrEnum

from wiser_contracts import roles

from .model import Kind, Recipient

NAMESPACE = uuid.UUID("6f1d7a2e-3c55-4f0e-9b7b-2f4c1f8a9d01")
POLICY_APPROVER = "policy:auto-affirmation"
NOTICE_APPROVER = "policy:notice"
APPROVERS = roles.LETTER_APPROVERS


class Status(StrEnum):
    DRAFTED = "drafted"
    APPROVED = "approved"
    REJECTED = "rejected"
    BLOCKED = "blocked"


def set_id_for(packet_id: uuid.UUID, kind: Kind) -> uuid.UUID:
    """One decision set per packet (and one notice set): the same id on every retry."""
    family = "notice" if kind == Kind.RECLASSIFICATION_NOTICE else "decision"
    return uuid.uuid5(NAMESPACE, f"{packet_id}/{family}")


def letter_id_for(set_id: uuid.UUID, recipient: Recipient) -> uuid.UUID:
    return uuid.uuid5(set_id, recipient.value)


def object_key(letter_id: uuid.UUID, version: int) -> str:
    """Where a letter version's PDF lives in S3: opaque ids only, never PHI."""
    return f"letters/{letter_id}/v{version}.pdf"


def approver_role(person_roles: Iterable[str]) -> str | None:
    """The letter-approving role a person acts in (T14/T15), or None."""
    held = sorted(set(person_roles) & APPROVERS)
    return held[0] if held else None


def needs_person(kind: Kind) -> bool:
    """Non-affirmations and partial affirmations always need a person (STATE_MACHINE.md T14)."""
    return kind != Kind.AFFIRMATION


def should_draft(current: Status | None) -> bool:
    """Entering `determined` drafts the set when there is none yet, or after a rejection (T15 → redraft)."""
    return current is None or current == Status.REJECTED
