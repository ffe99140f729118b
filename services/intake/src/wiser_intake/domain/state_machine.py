"""The packet state machine of STATE_MACHINE.md as one table and one pure function.

`decide(packet, trigger)` says what a trigger does to a packet: `Move` (a legal
transition, with the effects to apply), `Reject` (illegal, or a guard failed: a
machine-readable code), `Wait` (a bus trigger that is not legal yet but can
become legal from where the packet is: early, not illegal), or `Ignore` (a stale
outcome).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wiser_contracts import messages as m
from wiser_contracts import roles
from wiser_contracts.messages import ActorType, Outcome, ValidationOutcome
from wiser_contracts.messages import PacketState as S

# Trigger kinds that are not bus messages.
RECEIVED = "intake.received"
OPS_CORRECT = "intake.ops.correct"
OPS_DISMISS = "intake.ops.dismiss"
WITHDRAW = "intake.withdraw"

BEFORE_DETERMINATION = frozenset(
    {S.RECEIVED, S.VALIDATING, S.MANUAL_REVIEW, S.CLINICAL_QUEUE, S.CLINICAL_REVIEW, S.MD_REVIEW}
)


@dataclass(frozen=True)
class PacketView:
    """What the rules need to know about a packet."""

    state: S
    validation_run: int = 0
    outcome: Outcome | None = None
    utn: str | None = None


@dataclass(frozen=True)
class Trigger:
    kind: str
    actor: m.Actor
    at: datetime
    message: m.Message | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    reason: str | None = None


@dataclass(frozen=True)
class Move:
    transition: str
    source: S
    target: S
    effects: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reject:
    code: str
    detail: str


@dataclass(frozen=True)
class Ignore:
    reason: str


@dataclass(frozen=True)
class Wait:
    """Not legal now, but the packet can still reach a state where it is: try again later."""

    reason: str


Decision = Move | Reject | Ignore | Wait
Guard = Callable[[PacketView, Trigger], str | Wait | None]  # a Wait: not yet, try again
Effect = Callable[[PacketView, Trigger], dict[str, Any]]


@dataclass(frozen=True)
class Rule:
    transition: str
    sources: frozenset[S]
    target: S
    trigger: str
    roles: frozenset[str] | None = None  # people who may pull it; None: any actor allowed by the trigger
    guard: Guard | None = None
    when: Callable[[Trigger], bool] | None = None  # picks among rules sharing a trigger
    effects: Effect | None = None  # what entering the target does to the packet (columns to set)

    @property
    def determines(self) -> bool:
        """Entering the target records the determination (set once, never changed)."""
        return self.effects in DETERMINATIONS


def _validated(t: Trigger) -> m.PacketValidated:
    assert isinstance(t.message, m.PacketValidated)
    return t.message


def _outcome_is(outcome: ValidationOutcome) -> Callable[[Trigger], bool]:
    return lambda t: _validated(t).outcome == outcome


def _needs_findings(_: PacketView, t: Trigger) -> str | None:
    return None if _validated(t).findings else "findings must be attached"


def _needs_dismissal_reasons(_: PacketView, t: Trigger) -> str | None:
    return None if _validated(t).dismissal_reasons else "dismissal reason codes must be present"


def _corrections_recorded(_: PacketView, t: Trigger) -> str | None:
    corrections = t.data.get("corrections") or []
    if not corrections:
        return "at least one correction is required"
    if any(not (c.get("reason") or "").strip() for c in corrections):
        return "every correction needs a reason"
    return None


def _revalidation_reason(_: PacketView, t: Trigger) -> str | None:
    r = t.message
    assert isinstance(r, m.RevalidatePacket)
    return None if r.reason.strip() else "a reason is required"


def _dismissal_from_reference(_: PacketView, t: Trigger) -> str | None:
    if t.data.get("code") not in (t.data.get("allowed_codes") or ()):
        return "dismissal reason code is not in the reference list"
    if not (t.data.get("note") or "").strip():
        return "a note is required"
    return None


def _reviewer_present(_: PacketView, t: Trigger) -> str | None:
    return None if getattr(t.message, "reviewer_id", "") else "reviewer required"


def _lines_agree(d: m.DeterminationRecorded) -> str | None:
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


def _nurse_affirmation(_: PacketView, t: Trigger) -> str | None:
    d = t.message
    assert isinstance(d, m.DeterminationRecorded)
    if d.outcome != Outcome.AFFIRMED:
        return "a nurse may only affirm; any other outcome needs a medical director"
    if d.decided_by_role != "clinical_reviewer":
        return "decided_by_role must be clinical_reviewer"
    return _lines_agree(d)


def _md_determination(_: PacketView, t: Trigger) -> str | None:
    d = t.message
    assert isinstance(d, m.DeterminationRecorded)
    if d.decided_by_role != "medical_director":
        return "decided_by_role must be medical_director"
    if d.outcome == Outcome.DISMISSED:
        return "clinical review does not dismiss"
    return _lines_agree(d)


def _escalation_complete(_: PacketView, t: Trigger) -> str | None:
    e = t.message
    assert isinstance(e, m.ReviewEscalated)
    return None if e.rationale.strip() else "recommendation and rationale required"


def _note_present(_: PacketView, t: Trigger) -> str | None:
    r = t.message
    assert isinstance(r, m.ReviewReturned)
    return None if r.note.strip() else "a note is required"


def _utn_known(view: PacketView, _: Trigger) -> str | Wait | None:
    """T13: a decision letter names the UTN, so it is known unless the packet was dismissed. A draft that
    arrives before intake recorded the UTN is early (letters may hear it from clinical first), not illegal."""
    if view.outcome == Outcome.DISMISSED or view.utn:
        return None
    return Wait("the UTN is not recorded yet; a letter for this determination needs it")


def _approval(view: PacketView, t: Trigger) -> str | None:
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


def _rejection_reason(_: PacketView, t: Trigger) -> str | None:
    r = t.message
    assert isinstance(r, m.LetterRejected)
    return None if r.reason.strip() else "reason required"


def _withdraw_actor(_: PacketView, t: Trigger) -> str | None:
    if t.actor.type == ActorType.PARTNER:
        return None
    return None if roles.SUPERVISOR in t.actor.roles else "only the requester or a supervisor may withdraw"


# ------------------------------------------------------------------ effects of entering a state


def _next_validation_run(view: PacketView, _: Trigger) -> dict[str, Any]:
    return {"validation_run": view.validation_run + 1}


def _dismissed(
    t: Trigger, reasons: list[dict[str, Any]], note: str | None = None, corrective_action: str = ""
) -> dict[str, Any]:
    """The texts the decision was made with are kept with it: a later reference change rewrites nothing."""
    main = reasons[0]
    dismissal: dict[str, Any] = {
        "code": main["code"],
        "reason": main["reason"],
        "corrective_action": corrective_action,
        "all": reasons,
    }
    if note is not None:
        dismissal["note"] = note
    determination = {"outcome": Outcome.DISMISSED.value, "decided_by": t.actor.id, "decided_at": t.at.isoformat()}
    return {"determination": {**determination, "lines": []}, "dismissal": dismissal}


def _dismissed_by_validation(_: PacketView, t: Trigger) -> dict[str, Any]:
    reasons = _validated(t).dismissal_reasons
    return _dismissed(
        t, [{"code": r.code, "reason": r.reason} for r in reasons], corrective_action=reasons[0].corrective_action
    )


def _dismissed_by_ops(_: PacketView, t: Trigger) -> dict[str, Any]:
    code, reason = t.data["code"], t.data.get("reason_text") or ""
    action = t.data.get("corrective_action") or ""
    return _dismissed(t, [{"code": code, "reason": reason}], note=t.data.get("note"), corrective_action=action)


def _decided_by_a_clinician(_: PacketView, t: Trigger) -> dict[str, Any]:
    d = t.message
    assert isinstance(d, m.DeterminationRecorded)
    return {
        "determination": {
            "outcome": d.outcome.value,
            "decided_by": d.decided_by,
            "decided_by_role": d.decided_by_role,
            "decided_at": d.decided_at.isoformat(),
            "lines": [ln.model_dump(mode="json") for ln in d.lines],
            "rationale": d.rationale,
        }
    }


def _closed(reason: str) -> Effect:
    def effect(_: PacketView, __: Trigger) -> dict[str, Any]:
        return {"closure_reason": reason}

    return effect


DETERMINATIONS: frozenset[Effect] = frozenset({_dismissed_by_validation, _dismissed_by_ops, _decided_by_a_clinician})
_DELIVERED, _WITHDRAWN = _closed("delivered"), _closed("withdrawn")

OPS = roles.CORRECTORS
OPS_SENIOR = roles.DISMISSERS

RULES: tuple[Rule, ...] = (
    Rule("T1", frozenset({S.RECEIVED}), S.VALIDATING, RECEIVED, effects=_next_validation_run),
    Rule(
        "T2",
        frozenset({S.VALIDATING}),
        S.CLINICAL_QUEUE,
        m.PacketValidated.TYPE,
        when=_outcome_is(ValidationOutcome.PASSED),
    ),
    Rule(
        "T3",
        frozenset({S.VALIDATING}),
        S.MANUAL_REVIEW,
        m.PacketValidated.TYPE,
        guard=_needs_findings,
        when=_outcome_is(ValidationOutcome.NEEDS_CORRECTION),
    ),
    Rule(
        "T4",
        frozenset({S.VALIDATING}),
        S.DETERMINED,
        m.PacketValidated.TYPE,
        guard=_needs_dismissal_reasons,
        when=_outcome_is(ValidationOutcome.DISMISS),
        effects=_dismissed_by_validation,
    ),
    Rule(
        "T5",
        frozenset({S.MANUAL_REVIEW}),
        S.VALIDATING,
        OPS_CORRECT,
        roles=OPS,
        guard=_corrections_recorded,
        effects=_next_validation_run,
    ),
    Rule(
        "T5",
        frozenset({S.MANUAL_REVIEW}),
        S.VALIDATING,
        m.RevalidatePacket.TYPE,
        roles=OPS,
        guard=_revalidation_reason,
        effects=_next_validation_run,
    ),
    Rule(
        "T6",
        frozenset({S.MANUAL_REVIEW}),
        S.DETERMINED,
        OPS_DISMISS,
        roles=OPS_SENIOR,
        guard=_dismissal_from_reference,
        effects=_dismissed_by_ops,
    ),
    Rule("T7", frozenset({S.CLINICAL_QUEUE}), S.CLINICAL_REVIEW, m.ReviewAssigned.TYPE, guard=_reviewer_present),
    Rule("T8", frozenset({S.CLINICAL_REVIEW}), S.CLINICAL_QUEUE, m.ReviewReleased.TYPE),
    Rule(
        "T9",
        frozenset({S.CLINICAL_REVIEW}),
        S.DETERMINED,
        m.DeterminationRecorded.TYPE,
        guard=_nurse_affirmation,
        effects=_decided_by_a_clinician,
    ),
    Rule("T10", frozenset({S.CLINICAL_REVIEW}), S.MD_REVIEW, m.ReviewEscalated.TYPE, guard=_escalation_complete),
    Rule(
        "T11",
        frozenset({S.MD_REVIEW}),
        S.DETERMINED,
        m.DeterminationRecorded.TYPE,
        guard=_md_determination,
        effects=_decided_by_a_clinician,
    ),
    Rule("T12", frozenset({S.MD_REVIEW}), S.CLINICAL_REVIEW, m.ReviewReturned.TYPE, guard=_note_present),
    Rule("T13", frozenset({S.DETERMINED}), S.LETTER_REVIEW, m.LetterDrafted.TYPE, guard=_utn_known),
    Rule("T14", frozenset({S.LETTER_REVIEW}), S.DELIVERING, m.LetterApproved.TYPE, guard=_approval),
    Rule("T15", frozenset({S.LETTER_REVIEW}), S.DETERMINED, m.LetterRejected.TYPE, guard=_rejection_reason),
    Rule("T16", frozenset({S.DELIVERING}), S.CLOSED, m.DeliveryCompleted.TYPE, effects=_DELIVERED),
    Rule("T17", frozenset({S.DELIVERING}), S.DELIVERY_FAILED, m.DeliveryFailed.TYPE),
    Rule("T18", frozenset({S.DELIVERY_FAILED}), S.DELIVERING, m.RetryDelivery.TYPE, roles=OPS_SENIOR),
    Rule("T19", BEFORE_DETERMINATION, S.CLOSED, WITHDRAW, guard=_withdraw_actor, effects=_WITHDRAWN),
    Rule("T19", BEFORE_DETERMINATION, S.CLOSED, m.WithdrawPacket.TYPE, roles=roles.WITHDRAWERS, effects=_WITHDRAWN),
)

TRIGGERS = frozenset(r.trigger for r in RULES)

# Triggers whose reason is a person's free text (notes, rationales, withdrawal and correction reasons): kept
# in history (encrypted at rest), never copied into the transition event, whose body holds ids and codes only.
FREE_TEXT_REASONS = frozenset(
    {
        OPS_CORRECT,
        OPS_DISMISS,
        WITHDRAW,
        m.WithdrawPacket.TYPE,
        m.RevalidatePacket.TYPE,
        m.ReviewReleased.TYPE,
        m.ReviewEscalated.TYPE,
        m.ReviewReturned.TYPE,
        m.LetterRejected.TYPE,
    }
)


def event_reason(kind: str, reason: str | None) -> str | None:
    """The reason a transition event (triggered by `kind`) may carry: none when it is a person's free text."""
    return None if kind in FREE_TEXT_REASONS else reason


def legal_transitions() -> list[tuple[str, S, S]]:
    """Every (id, from, to) the table allows."""
    return sorted({(r.transition, s, r.target) for r in RULES for s in r.sources}, key=lambda x: (x[0], x[1]))


def _successors() -> dict[S, frozenset[S]]:
    graph: dict[S, set[S]] = {state: set() for state in S}
    for rule in RULES:
        for source in rule.sources:
            graph[source].add(rule.target)
    return {state: frozenset(targets) for state, targets in graph.items()}


SUCCESSORS = _successors()


def reachable_from(state: S) -> frozenset[S]:
    """Every state the packet can still get to from `state` (not counting `state` itself unless a cycle leads back)."""
    seen: set[S] = set()
    frontier = list(SUCCESSORS[state])
    while frontier:
        nxt = frontier.pop()
        if nxt not in seen:
            seen.add(nxt)
            frontier.extend(SUCCESSORS[nxt])
    return frozenset(seen)


def decide(view: PacketView, trigger: Trigger) -> Decision:
    """What `trigger` does to a packet in `view`'s state."""
    if trigger.kind not in TRIGGERS:
        return Reject("UNKNOWN_TRIGGER", f"{trigger.kind} moves no packet")
    if trigger.kind == m.PacketValidated.TYPE:
        run = _validated(trigger).run
        if run < view.validation_run:
            return Ignore(f"validation run {run} is older than the current run {view.validation_run}")
        if run > view.validation_run:
            return Reject("UNKNOWN_VALIDATION_RUN", f"run {run} was never requested")
    candidates = [r for r in RULES if r.trigger == trigger.kind and (r.when is None or r.when(trigger))]
    rule = next((r for r in candidates if view.state in r.sources), None)
    if rule is None:
        ahead = reachable_from(view.state)
        if trigger.message is not None and any(r.sources & ahead for r in candidates):
            return Wait(f"{trigger.kind} is not legal in state {view.state.value} yet")
        return Reject("ILLEGAL_TRANSITION", f"{trigger.kind} is not allowed in state {view.state.value}")
    if rule.roles is not None and trigger.actor.type == ActorType.USER and not (set(trigger.actor.roles) & rule.roles):
        return Reject("ROLE_FORBIDDEN", f"{rule.transition} needs one of {sorted(rule.roles)}")
    if rule.guard is not None:
        problem = rule.guard(view, trigger)
        if isinstance(problem, Wait):
            return (
                problem
                if trigger.message is not None
                else Reject("GUARD_FAILED", f"{rule.transition}: {problem.reason}")
            )
        if problem:
            return Reject("GUARD_FAILED", f"{rule.transition}: {problem}")
    if rule.determines and view.outcome is not None:
        return Reject("ALREADY_DETERMINED", "a determination is never changed; a new decision needs a resubmission")
    return Move(rule.transition, view.state, rule.target, rule.effects(view, trigger) if rule.effects else {})


def decide_utn(view: PacketView, utn: str) -> Move | Reject | Ignore | Wait:
    """Whether the MAC's UTN can be added: exactly once, after an affirmation or non-affirmation."""
    if view.utn == utn:
        return Ignore("UTN already recorded")
    if view.utn is not None:
        return Reject("UTN_ALREADY_ASSIGNED", "the UTN is added exactly once")
    if view.outcome is None and view.state in BEFORE_DETERMINATION:
        return Wait("the determination the UTN is for is not recorded yet")
    if view.outcome is None or view.outcome == Outcome.DISMISSED:
        return Reject("NO_DETERMINATION", "a UTN is issued only for an affirmation or non-affirmation")
    return Move("UTN", view.state, view.state, {"utn": utn})
