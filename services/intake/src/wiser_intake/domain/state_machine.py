"""The packet state machine of STATE_MACHINE.md as one table and one pure function.

`decide(packet, trigger)` says what a trigger does to a packet: `Move` (a legal
transition, with the effects to apply), `Reject` (illegal, or a guard failed: a
machine-readable code), `Wait` (a bus trigger that is not legal yet but can
become legal from where the packet is: early, not illegal), or `Ignore` (a stale
outcome).

The rule table and `decide` live here; what they reason about (`PacketView`, `Trigger`, the answers) in
`triggers.py`, the guards in `guards.py`, what entering a state sets in `effects.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from wiser_contracts import messages as m
from wiser_contracts import roles
from wiser_contracts.messages import ActorType, Outcome, ValidationOutcome
from wiser_contracts.messages import PacketState as S

from . import effects as on_entry
from . import guards
from .triggers import (
    BEFORE_DETERMINATION,
    OPS_CORRECT,
    OPS_DISMISS,
    RECEIVED,
    WITHDRAW,
    Decision,
    Effect,
    Guard,
    Ignore,
    Move,
    PacketView,
    Reject,
    Trigger,
    Wait,
)


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
        return self.effects in on_entry.DETERMINATIONS


OPS = roles.CORRECTORS
OPS_SENIOR = roles.DISMISSERS

RULES: tuple[Rule, ...] = (
    Rule("T1", frozenset({S.RECEIVED}), S.VALIDATING, RECEIVED, effects=on_entry.next_validation_run),
    Rule(
        "T2",
        frozenset({S.VALIDATING}),
        S.CLINICAL_QUEUE,
        m.PacketValidated.TYPE,
        when=guards.outcome_is(ValidationOutcome.PASSED),
    ),
    Rule(
        "T3",
        frozenset({S.VALIDATING}),
        S.MANUAL_REVIEW,
        m.PacketValidated.TYPE,
        guard=guards.needs_findings,
        when=guards.outcome_is(ValidationOutcome.NEEDS_CORRECTION),
    ),
    Rule(
        "T4",
        frozenset({S.VALIDATING}),
        S.DETERMINED,
        m.PacketValidated.TYPE,
        guard=guards.needs_dismissal_reasons,
        when=guards.outcome_is(ValidationOutcome.DISMISS),
        effects=on_entry.dismissed_by_validation,
    ),
    Rule(
        "T5",
        frozenset({S.MANUAL_REVIEW}),
        S.VALIDATING,
        OPS_CORRECT,
        roles=OPS,
        guard=guards.corrections_recorded,
        effects=on_entry.next_validation_run,
    ),
    Rule(
        "T5",
        frozenset({S.MANUAL_REVIEW}),
        S.VALIDATING,
        m.RevalidatePacket.TYPE,
        roles=OPS,
        guard=guards.revalidation_reason,
        effects=on_entry.next_validation_run,
    ),
    Rule(
        "T6",
        frozenset({S.MANUAL_REVIEW}),
        S.DETERMINED,
        OPS_DISMISS,
        roles=OPS_SENIOR,
        guard=guards.dismissal_from_reference,
        effects=on_entry.dismissed_by_ops,
    ),
    Rule("T7", frozenset({S.CLINICAL_QUEUE}), S.CLINICAL_REVIEW, m.ReviewAssigned.TYPE, guard=guards.reviewer_present),
    Rule("T8", frozenset({S.CLINICAL_REVIEW}), S.CLINICAL_QUEUE, m.ReviewReleased.TYPE),
    Rule(
        "T9",
        frozenset({S.CLINICAL_REVIEW}),
        S.DETERMINED,
        m.DeterminationRecorded.TYPE,
        guard=guards.nurse_affirmation,
        effects=on_entry.decided_by_a_clinician,
    ),
    Rule("T10", frozenset({S.CLINICAL_REVIEW}), S.MD_REVIEW, m.ReviewEscalated.TYPE, guard=guards.escalation_complete),
    Rule(
        "T11",
        frozenset({S.MD_REVIEW}),
        S.DETERMINED,
        m.DeterminationRecorded.TYPE,
        guard=guards.md_determination,
        effects=on_entry.decided_by_a_clinician,
    ),
    Rule("T12", frozenset({S.MD_REVIEW}), S.CLINICAL_REVIEW, m.ReviewReturned.TYPE, guard=guards.note_present),
    Rule("T13", frozenset({S.DETERMINED}), S.LETTER_REVIEW, m.LetterDrafted.TYPE, guard=guards.utn_known),
    Rule("T14", frozenset({S.LETTER_REVIEW}), S.DELIVERING, m.LetterApproved.TYPE, guard=guards.approval),
    Rule("T15", frozenset({S.LETTER_REVIEW}), S.DETERMINED, m.LetterRejected.TYPE, guard=guards.rejection_reason),
    Rule("T16", frozenset({S.DELIVERING}), S.CLOSED, m.DeliveryCompleted.TYPE, effects=on_entry.DELIVERED),
    Rule("T17", frozenset({S.DELIVERING}), S.DELIVERY_FAILED, m.DeliveryFailed.TYPE),
    Rule("T18", frozenset({S.DELIVERY_FAILED}), S.DELIVERING, m.RetryDelivery.TYPE, roles=OPS_SENIOR),
    Rule("T19", BEFORE_DETERMINATION, S.CLOSED, WITHDRAW, guard=guards.withdraw_actor, effects=on_entry.WITHDRAWN),
    Rule(
        "T19",
        BEFORE_DETERMINATION,
        S.CLOSED,
        m.WithdrawPacket.TYPE,
        roles=roles.WITHDRAWERS,
        effects=on_entry.WITHDRAWN,
    ),
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
        run = guards.validated(trigger).run
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


__all__ = [
    "BEFORE_DETERMINATION",
    "FREE_TEXT_REASONS",
    "OPS_CORRECT",
    "OPS_DISMISS",
    "RECEIVED",
    "RULES",
    "SUCCESSORS",
    "TRIGGERS",
    "WITHDRAW",
    "Decision",
    "Effect",
    "Guard",
    "Ignore",
    "Move",
    "PacketView",
    "Reject",
    "Rule",
    "Trigger",
    "Wait",
    "decide",
    "decide_utn",
    "event_reason",
    "legal_transitions",
    "reachable_from",
]
