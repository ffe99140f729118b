"""STATE_MACHINE.md's guards on T11 (lines agree with the outcome), T13 (a UTN unless dismissed) and T14 (who
approves a letter), pure: no database, no bus."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from wiser_contracts import messages as m
from wiser_contracts import roles
from wiser_contracts.messages import Outcome
from wiser_contracts.messages import PacketState as S
from wiser_intake.domain import state_machine as sm

NOW = datetime(2026, 12, 1, tzinfo=UTC)
PID = uuid.uuid4()
LID = uuid.uuid4()
SYSTEM = m.Actor(type=m.ActorType.SYSTEM, id="test")
UTN = "JLA26000000001"


def line(outcome: str, *reasons: str, code: str = "64581") -> m.LineDecision:
    return m.LineDecision(code=code, outcome=outcome, reasons=reasons)


def md_decides(outcome: str, *lines: m.LineDecision) -> sm.Decision:
    d = m.DeterminationRecorded(
        packet_id=PID,
        producer="clinical",
        outcome=outcome,
        decided_by="md-1",
        decided_by_role="medical_director",
        decided_at=NOW,
        lines=lines,
    )
    return sm.decide(sm.PacketView(S.MD_REVIEW, 1), sm.Trigger(d.type, SYSTEM, NOW, d))


def rejected(decision: sm.Decision, words: str) -> bool:
    return isinstance(decision, sm.Reject) and decision.code == "GUARD_FAILED" and words in decision.detail


# ---------------------------------------------------------------------------------------- T11


@pytest.mark.parametrize(
    ("outcome", "lines"),
    [
        ("affirmed", (line("affirmed"), line("affirmed", code="64590"))),
        ("non_affirmed", (line("non_affirmed", "no trial documented"),)),
        ("partially_affirmed", (line("affirmed"), line("non_affirmed", "not separately authorised", code="64590"))),
    ],
)
def test_t11_moves_when_every_line_agrees_with_the_outcome(outcome: str, lines: tuple[m.LineDecision, ...]) -> None:
    decision = md_decides(outcome, *lines)
    assert isinstance(decision, sm.Move) and decision.transition == "T11"
    assert [ln["outcome"] for ln in decision.effects["determination"]["lines"]] == [ln.outcome for ln in lines]


@pytest.mark.parametrize(
    ("outcome", "lines", "words"),
    [
        ("affirmed", (line("affirmed"), line("non_affirmed", "x", code="64590")), "affirmation cannot have"),
        ("non_affirmed", (line("non_affirmed", "x"), line("affirmed", code="64590")), "cannot have an affirmed"),
        ("non_affirmed", (), "needs its service lines"),
        ("partially_affirmed", (line("affirmed"), line("affirmed", code="64590")), "at least one non-affirmed"),
        ("partially_affirmed", (line("non_affirmed", "x"),), "at least one affirmed"),
        ("non_affirmed", (line("partially_affirmed"),), "affirmed or non-affirmed"),
    ],
)
def test_t11_refuses_lines_that_disagree_with_the_outcome(
    outcome: str, lines: tuple[m.LineDecision, ...], words: str
) -> None:
    assert rejected(md_decides(outcome, *lines), words)


@pytest.mark.parametrize("reasons", [(), ("  ",)])
def test_t11_refuses_a_non_affirmed_line_without_a_reason(reasons: tuple[str, ...]) -> None:
    decision = md_decides("partially_affirmed", line("affirmed"), line("non_affirmed", *reasons, code="64590"))
    assert rejected(decision, "needs a specific reason")


def test_a_nurse_affirmation_with_a_non_affirmed_line_is_refused() -> None:
    d = m.DeterminationRecorded(
        packet_id=PID,
        producer="clinical",
        outcome="affirmed",
        decided_by="n-1",
        decided_by_role="clinical_reviewer",
        decided_at=NOW,
        lines=(line("non_affirmed", "x"),),
    )
    assert rejected(sm.decide(sm.PacketView(S.CLINICAL_REVIEW, 1), sm.Trigger(d.type, SYSTEM, NOW, d)), "affirmation")


# ---------------------------------------------------------------------------------------- T13


def drafted(view: sm.PacketView) -> sm.Decision:
    msg = m.LetterDrafted(packet_id=PID, producer="letters", letter_id=LID, kind="decision")
    return sm.decide(view, sm.Trigger(msg.type, SYSTEM, NOW, msg))


@pytest.mark.parametrize("outcome", [Outcome.AFFIRMED, Outcome.NON_AFFIRMED, Outcome.PARTIALLY_AFFIRMED])
def test_t13_needs_the_utn_of_a_decision_on_the_merits(outcome: Outcome) -> None:
    early = drafted(sm.PacketView(S.DETERMINED, 1, outcome))
    # Not illegal: letters may hear the UTN from clinical before intake records it, so the draft waits for it.
    assert isinstance(early, sm.Wait) and "UTN" in early.reason
    moved = drafted(sm.PacketView(S.DETERMINED, 1, outcome, utn=UTN))
    assert isinstance(moved, sm.Move) and moved.transition == "T13"


def test_t13_needs_no_utn_for_a_dismissal() -> None:
    decision = drafted(sm.PacketView(S.DETERMINED, 1, Outcome.DISMISSED))
    assert isinstance(decision, sm.Move) and decision.transition == "T13"


# ---------------------------------------------------------------------------------------- T14


def approved(outcome: Outcome, approved_by: str, role: str | None) -> sm.Decision:
    msg = m.LetterApproved(
        packet_id=PID, producer="letters", letter_id=LID, approved_by=approved_by, approver_role=role
    )
    return sm.decide(sm.PacketView(S.LETTER_REVIEW, 1, outcome, utn=UTN), sm.Trigger(msg.type, SYSTEM, NOW, msg))


@pytest.mark.parametrize("role", sorted(roles.LETTER_APPROVERS))
@pytest.mark.parametrize("outcome", [Outcome.AFFIRMED, Outcome.NON_AFFIRMED, Outcome.PARTIALLY_AFFIRMED])
def test_t14_a_person_whose_role_approves_letters_may_approve_any_letter(role: str, outcome: Outcome) -> None:
    decision = approved(outcome, "person-1", role)
    assert isinstance(decision, sm.Move) and decision.transition == "T14"


@pytest.mark.parametrize("role", [None, "ops_tier1", "ops_tier2", "manager", "admin", "auditor", "service"])
def test_t14_refuses_a_person_whose_role_does_not_approve_letters(role: str | None) -> None:
    assert rejected(approved(Outcome.AFFIRMED, "person-1", role), "approver_role")


def test_t14_the_auto_affirmation_policy_approves_affirmations_only() -> None:
    assert isinstance(approved(Outcome.AFFIRMED, roles.AUTO_AFFIRMATION_POLICY, None), sm.Move)
    for outcome in (Outcome.NON_AFFIRMED, Outcome.PARTIALLY_AFFIRMED, Outcome.DISMISSED):
        assert rejected(approved(outcome, roles.AUTO_AFFIRMATION_POLICY, None), "needs a person")


def test_t14_no_other_policy_and_no_blank_approver() -> None:
    assert rejected(approved(Outcome.AFFIRMED, "policy:approve-everything", None), "not a policy")
    assert rejected(approved(Outcome.AFFIRMED, "policy:approve-everything", "supervisor"), "not a policy")
    assert rejected(approved(Outcome.AFFIRMED, "  ", "supervisor"), "approver required")
