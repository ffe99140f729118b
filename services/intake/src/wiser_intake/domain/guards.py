"""The guards of the rules (STATE_MACHINE.md): each says why a trigger may not move a packet (a message), or
that it cannot yet (a `Wait`), or nothing when it may."""

from __future__ import annotations

from collections.abc import Callable

from wiser_contracts import messages as m
from wiser_contracts import roles
from wiser_contracts.messages import ActorType, Outcome, ValidationOutcome

from .triggers import (
    PacketView,
    Trigger,
    Wait,
)


def validated(t: Trigger) -> m.PacketValidated:
    assert isinstance(t.message, m.PacketValidated)
    return t.message


def outcome_is(outcome: ValidationOutcome) -> Callable[[Trigger], bool]:
    return lambda t: validated(t).outcome == outcome


def needs_findings(_: PacketView, t: Trigger) -> str | None:
    return None if validated(t).findings else "findings must be attached"


def needs_dismissal_reasons(_: PacketView, t: Trigger) -> str | None:
    return None if validated(t).dismissal_reasons else "dismissal reason codes must be present"


def corrections_recorded(_: PacketView, t: Trigger) -> str | None:
    corrections = t.data.get("corrections") or []
    if not corrections:
        return "at least one correction is required"
    if any(not (c.get("reason") or "").strip() for c in corrections):
        return "every correction needs a reason"
    return None


def revalidation_reason(_: PacketView, t: Trigger) -> str | None:
    r = t.message
    assert isinstance(r, m.RevalidatePacket)
    return None if r.reason.strip() else "a reason is required"


def dismissal_from_reference(_: PacketView, t: Trigger) -> str | None:
    if t.data.get("code") not in (t.data.get("allowed_codes") or ()):
        return "dismissal reason code is not in the reference list"
    if not (t.data.get("note") or "").strip():
        return "a note is required"
    return None


def reviewer_present(_: PacketView, t: Trigger) -> str | None:
    return None if getattr(t.message, "reviewer_id", "") else "reviewer required"


def lines_agree(d: m.DeterminationRecorded) -> str | None:
    """T9/T11: each line's outcome agrees with the packet's outcome; every non-affirmed line has a reason."""
    outcomes = {line.outcome for line in d.lines}
    if outcomes - {Outcome.AFFIRMED, Outcome.NON_AFFIRMED}:
        return "a service line is affirmed or non-affirmed, nothing else"
    if d.outcome == Outcome.AFFIRMED and Outcome.NON_AFFIRMED in outcomes:
        return "an affirmation cannot have a non-affirmed line"
    if d.outcome == Outcome.NON_AFFIRMED:
        if not d.lines:
            return "a non-affirmation needs its service lines"
        if Outcome.AFFIRMED in outcomes:
            return "a non-affirmation cannot have an affirmed line (that is a partial affirmation)"
    if d.outcome == Outcome.PARTIALLY_AFFIRMED:
        if Outcome.NON_AFFIRMED not in outcomes:
            return "a partial affirmation needs at least one non-affirmed line"
        if Outcome.AFFIRMED not in outcomes:
            return "a partial affirmation needs at least one affirmed line"
    unmet = [line for line in d.lines if line.outcome == Outcome.NON_AFFIRMED]
    if any(not [r for r in line.reasons if r.strip()] for line in unmet):
        return "every non-affirmed line needs a specific reason per unmet criterion"
    return None


def nurse_affirmation(_: PacketView, t: Trigger) -> str | None:
    d = t.message
    assert isinstance(d, m.DeterminationRecorded)
    if d.outcome != Outcome.AFFIRMED:
        return "a nurse may only affirm; any other outcome needs a medical director"
    if d.decided_by_role != "clinical_reviewer":
        return "decided_by_role must be clinical_reviewer"
    return lines_agree(d)


def md_determination(_: PacketView, t: Trigger) -> str | None:
    d = t.message
    assert isinstance(d, m.DeterminationRecorded)
    if d.decided_by_role != "medical_director":
        return "decided_by_role must be medical_director"
    if d.outcome == Outcome.DISMISSED:
        return "clinical review does not dismiss"
    return lines_agree(d)


def escalation_complete(_: PacketView, t: Trigger) -> str | None:
    e = t.message
    assert isinstance(e, m.ReviewEscalated)
    return None if e.rationale.strip() else "recommendation and rationale required"


def note_present(_: PacketView, t: Trigger) -> str | None:
    r = t.message
    assert isinstance(r, m.ReviewReturned)
    return None if r.note.strip() else "a note is required"


def utn_known(view: PacketView, _: Trigger) -> str | Wait | None:
    """T13: a decision letter names the UTN, so it is known unless the packet was dismissed. A draft that
    arrives before intake recorded the UTN is early (letters may hear it from clinical first), not illegal."""
    if view.outcome == Outcome.DISMISSED or view.utn:
        return None
    return Wait("the UTN is not recorded yet; a letter for this determination needs it")


def approval(view: PacketView, t: Trigger) -> str | None:
    """T14: a person whose role approves letters, or the auto-affirmation policy for an affirmation."""
    a = t.message
    assert isinstance(a, m.LetterApproved)
    approver = a.approved_by.strip()
    if not approver:
        return "approver required"
    if approver == roles.AUTO_AFFIRMATION_POLICY:
        if view.outcome != Outcome.AFFIRMED:
            return "only affirmation letters may be approved by policy; this one needs a person"
        return None
    if approver.startswith("policy:"):
        return f"{approver} is not a policy that may approve letters"
    if a.approver_role not in roles.LETTER_APPROVERS:
        return f"approver_role must be one of {sorted(roles.LETTER_APPROVERS)}"
    return None


def rejection_reason(_: PacketView, t: Trigger) -> str | None:
    r = t.message
    assert isinstance(r, m.LetterRejected)
    return None if r.reason.strip() else "reason required"


def withdraw_actor(_: PacketView, t: Trigger) -> str | None:
    if t.actor.type == ActorType.PARTNER:
        return None
    return None if roles.SUPERVISOR in t.actor.roles else "only the requester or a supervisor may withdraw"
