"""The transition table of STATE_MACHINE.md, rule by rule, without I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from wiser_contracts import messages as m
from wiser_contracts.messages import PacketState as S
from wiser_intake.domain import state_machine as sm

NOW = datetime(2026, 12, 1, tzinfo=UTC)
PID = uuid.uuid4()
SYSTEM = m.Actor(type=m.ActorType.SYSTEM, id="test")


def user(*roles: str) -> m.Actor:
    return m.Actor(type=m.ActorType.USER, id="u1", roles=roles)


def partner() -> m.Actor:
    return m.Actor(type=m.ActorType.PARTNER, id="p1")


def validated(outcome: str, run: int = 1, **kw: object) -> m.PacketValidated:
    findings = kw.pop("findings", (m.Finding(check="mbi_format", code="MBI_FORMAT", severity="correction"),))
    reasons = kw.pop("reasons", (m.DismissalReason(code="NON_WISER_SERVICE", reason="not on the list"),))
    return m.PacketValidated(packet_id=PID, run=run, outcome=outcome, findings=findings, dismissal_reasons=reasons)


def determination(outcome: str, role: str, lines: tuple[m.LineDecision, ...] = ()) -> m.DeterminationRecorded:
    return m.DeterminationRecorded(
        packet_id=PID, outcome=outcome, decided_by="clin1", decided_by_role=role, decided_at=NOW, lines=lines
    )


def trig(msg: m.Message | None = None, kind: str | None = None, actor: m.Actor = SYSTEM, **data: object) -> sm.Trigger:
    return sm.Trigger(kind=kind or msg.type, actor=actor, at=NOW, message=msg, data=data)  # type: ignore[union-attr]


LID = uuid.uuid4()
# One legal trigger per transition, with the state it starts from.
LEGAL: list[tuple[str, S, S, sm.Trigger, sm.PacketView | None]] = [
    ("T1", S.RECEIVED, S.VALIDATING, trig(kind=sm.RECEIVED), None),
    ("T2", S.VALIDATING, S.CLINICAL_QUEUE, trig(validated("passed", findings=(), reasons=())), None),
    ("T3", S.VALIDATING, S.MANUAL_REVIEW, trig(validated("needs_correction")), None),
    ("T4", S.VALIDATING, S.DETERMINED, trig(validated("dismiss")), None),
    (
        "T5",
        S.MANUAL_REVIEW,
        S.VALIDATING,
        trig(
            kind=sm.OPS_CORRECT, actor=user("ops_tier1"), corrections=[{"field": "beneficiary.mbi", "reason": "typo"}]
        ),
        None,
    ),
    (
        "T6",
        S.MANUAL_REVIEW,
        S.DETERMINED,
        trig(
            kind=sm.OPS_DISMISS,
            actor=user("ops_tier2"),
            code="INVALID_BENEFICIARY",
            note="deceased",
            allowed_codes=("INVALID_BENEFICIARY",),
        ),
        None,
    ),
    ("T7", S.CLINICAL_QUEUE, S.CLINICAL_REVIEW, trig(m.ReviewAssigned(packet_id=PID, reviewer_id="n1")), None),
    ("T8", S.CLINICAL_REVIEW, S.CLINICAL_QUEUE, trig(m.ReviewReleased(packet_id=PID, reviewer_id="n1")), None),
    ("T9", S.CLINICAL_REVIEW, S.DETERMINED, trig(determination("affirmed", "clinical_reviewer")), None),
    (
        "T10",
        S.CLINICAL_REVIEW,
        S.MD_REVIEW,
        trig(m.ReviewEscalated(packet_id=PID, reviewer_id="n1", recommendation="non_affirmed", rationale="BMI 38")),
        None,
    ),
    (
        "T11",
        S.MD_REVIEW,
        S.DETERMINED,
        trig(
            determination(
                "non_affirmed",
                "medical_director",
                (m.LineDecision(code="64582", outcome="non_affirmed", reasons=("BMI >= 35",)),),
            )
        ),
        None,
    ),
    (
        "T12",
        S.MD_REVIEW,
        S.CLINICAL_REVIEW,
        trig(m.ReviewReturned(packet_id=PID, medical_director_id="md", note="need PSG")),
        None,
    ),
    (
        "T13",
        S.DETERMINED,
        S.LETTER_REVIEW,
        trig(m.LetterDrafted(packet_id=PID, letter_id=LID, kind="affirmation")),
        sm.PacketView(S.DETERMINED, 1, m.Outcome.AFFIRMED, utn="JLA26000000001"),
    ),
    (
        "T14",
        S.LETTER_REVIEW,
        S.DELIVERING,
        trig(m.LetterApproved(packet_id=PID, letter_id=LID, approved_by="sup1", approver_role="supervisor")),
        sm.PacketView(S.LETTER_REVIEW, 1, m.Outcome.AFFIRMED),
    ),
    (
        "T15",
        S.LETTER_REVIEW,
        S.DETERMINED,
        trig(m.LetterRejected(packet_id=PID, letter_id=LID, rejected_by="sup1", reason="wrong address")),
        sm.PacketView(S.LETTER_REVIEW, 1, m.Outcome.AFFIRMED),
    ),
    ("T16", S.DELIVERING, S.CLOSED, trig(m.DeliveryCompleted(packet_id=PID, delivery_id=LID)), None),
    (
        "T17",
        S.DELIVERING,
        S.DELIVERY_FAILED,
        trig(m.DeliveryFailed(packet_id=PID, delivery_id=LID, channel="fax", error="busy")),
        None,
    ),
    (
        "T18",
        S.DELIVERY_FAILED,
        S.DELIVERING,
        trig(
            m.RetryDelivery(packet_id=PID, requested_by="ops2", requested_by_roles=("ops_tier2",)),
            actor=user("ops_tier2"),
        ),
        None,
    ),
]


@pytest.mark.parametrize(("tid", "source", "target", "trigger", "view"), LEGAL, ids=[x[0] for x in LEGAL])
def test_each_legal_transition_moves_the_packet(
    tid: str, source: S, target: S, trigger: sm.Trigger, view: sm.PacketView | None
) -> None:
    decision = sm.decide(view or sm.PacketView(source, validation_run=1), trigger)
    assert isinstance(decision, sm.Move), decision
    assert (decision.transition, decision.source, decision.target) == (tid, source, target)


@pytest.mark.parametrize("source", sorted(sm.BEFORE_DETERMINATION))
def test_a_partner_may_withdraw_before_determination(source: S) -> None:
    decision = sm.decide(sm.PacketView(source, 1), trig(kind=sm.WITHDRAW, actor=partner()))
    assert isinstance(decision, sm.Move) and decision.target == S.CLOSED
    assert decision.effects["closure_reason"] == "withdrawn"


@pytest.mark.parametrize("source", [S.DETERMINED, S.LETTER_REVIEW, S.DELIVERING, S.DELIVERY_FAILED, S.CLOSED])
def test_withdrawal_after_determination_is_illegal(source: S) -> None:
    decision = sm.decide(sm.PacketView(source, 1), trig(kind=sm.WITHDRAW, actor=partner()))
    assert isinstance(decision, sm.Reject) and decision.code == "ILLEGAL_TRANSITION"


@pytest.mark.parametrize(("tid", "source", "target", "trigger", "view"), LEGAL, ids=[x[0] for x in LEGAL])
def test_every_trigger_is_illegal_from_every_other_state(
    tid: str, source: S, target: S, trigger: sm.Trigger, view: sm.PacketView | None
) -> None:
    allowed = {
        s
        for (t, s, _) in sm.legal_transitions()
        if any(r.transition == t and r.trigger == trigger.kind for r in sm.RULES)
    }
    for state in S:
        if state in allowed:
            continue
        decision = sm.decide(sm.PacketView(state, 1, m.Outcome.AFFIRMED), trigger)
        if trigger.message is not None and allowed & sm.reachable_from(state):
            # Early, not illegal: the packet can still get where the bus trigger applies (HTTP actions get 409 now).
            assert isinstance(decision, sm.Wait), (tid, state, decision)
        else:
            assert isinstance(decision, sm.Reject), (tid, state, decision)
            assert decision.code == "ILLEGAL_TRANSITION"


def test_an_approval_before_its_draft_waits_and_a_review_event_after_the_determination_is_rejected() -> None:
    approved = m.LetterApproved(packet_id=uuid.uuid4(), producer="letters", letter_id=uuid.uuid4(), approved_by="u1")
    assert isinstance(sm.decide(sm.PacketView(S.DETERMINED, 1, m.Outcome.AFFIRMED), trig(approved)), sm.Wait)
    assigned = m.ReviewAssigned(packet_id=uuid.uuid4(), producer="clinical", reviewer_id="n1")
    decision = sm.decide(sm.PacketView(S.DETERMINED, 1, m.Outcome.AFFIRMED), trig(assigned))
    assert isinstance(decision, sm.Reject) and decision.code == "ILLEGAL_TRANSITION"
    for message in (approved, assigned):
        closed = sm.decide(sm.PacketView(S.CLOSED, 1, m.Outcome.AFFIRMED), trig(message))
        assert isinstance(closed, sm.Reject) and closed.code == "ILLEGAL_TRANSITION"


def test_a_utn_before_its_determination_waits() -> None:
    assert isinstance(sm.decide_utn(sm.PacketView(S.CLINICAL_REVIEW, 1), "JLA26001234567"), sm.Wait)
    assert isinstance(sm.decide_utn(sm.PacketView(S.CLOSED, 1), "JLA26001234567"), sm.Reject)


def test_the_table_has_exactly_the_documented_transitions() -> None:
    pairs = {(t, s.value, d.value) for t, s, d in sm.legal_transitions()}
    expected_ids = {f"T{i}" for i in range(1, 20)}
    assert {t for t, _, _ in pairs} == expected_ids
    assert len([p for p in pairs if p[0] == "T19"]) == 6


def test_a_result_for_an_older_validation_run_is_ignored() -> None:
    decision = sm.decide(sm.PacketView(S.VALIDATING, validation_run=2), trig(validated("passed", run=1)))
    assert isinstance(decision, sm.Ignore)


def test_a_result_for_an_unrequested_run_is_rejected() -> None:
    decision = sm.decide(sm.PacketView(S.VALIDATING, validation_run=1), trig(validated("passed", run=5)))
    assert isinstance(decision, sm.Reject) and decision.code == "UNKNOWN_VALIDATION_RUN"


def test_needs_correction_without_findings_fails_its_guard() -> None:
    decision = sm.decide(sm.PacketView(S.VALIDATING, 1), trig(validated("needs_correction", findings=())))
    assert isinstance(decision, sm.Reject) and decision.code == "GUARD_FAILED"


def test_dismissal_without_reason_codes_fails_its_guard() -> None:
    decision = sm.decide(sm.PacketView(S.VALIDATING, 1), trig(validated("dismiss", reasons=())))
    assert isinstance(decision, sm.Reject) and decision.code == "GUARD_FAILED"


def test_a_dismissal_records_every_reason_with_the_first_as_main() -> None:
    reasons = (m.DismissalReason(code="WRONG_JURISDICTION"), m.DismissalReason(code="NON_WISER_SERVICE"))
    decision = sm.decide(sm.PacketView(S.VALIDATING, 1), trig(validated("dismiss", reasons=reasons)))
    assert isinstance(decision, sm.Move)
    assert decision.effects["dismissal"]["code"] == "WRONG_JURISDICTION"
    assert [r["code"] for r in decision.effects["dismissal"]["all"]] == ["WRONG_JURISDICTION", "NON_WISER_SERVICE"]
    assert decision.effects["determination"]["outcome"] == "dismissed"


def test_a_nurse_cannot_non_affirm() -> None:
    decision = sm.decide(sm.PacketView(S.CLINICAL_REVIEW, 1), trig(determination("non_affirmed", "clinical_reviewer")))
    assert isinstance(decision, sm.Reject) and decision.code == "GUARD_FAILED"


def test_a_non_affirmation_needs_a_reason_per_unmet_criterion() -> None:
    lines = (m.LineDecision(code="64582", outcome="non_affirmed", reasons=()),)
    decision = sm.decide(sm.PacketView(S.MD_REVIEW, 1), trig(determination("non_affirmed", "medical_director", lines)))
    assert isinstance(decision, sm.Reject) and decision.code == "GUARD_FAILED"


def test_ops_tier1_cannot_dismiss() -> None:
    decision = sm.decide(
        sm.PacketView(S.MANUAL_REVIEW, 1),
        trig(
            kind=sm.OPS_DISMISS,
            actor=user("ops_tier1"),
            code="INVALID_BENEFICIARY",
            note="x",
            allowed_codes=("INVALID_BENEFICIARY",),
        ),
    )
    assert isinstance(decision, sm.Reject) and decision.code == "ROLE_FORBIDDEN"


def test_a_dismissal_code_must_come_from_the_reference_list() -> None:
    decision = sm.decide(
        sm.PacketView(S.MANUAL_REVIEW, 1),
        trig(
            kind=sm.OPS_DISMISS,
            actor=user("supervisor"),
            code="BECAUSE",
            note="x",
            allowed_codes=("INVALID_BENEFICIARY",),
        ),
    )
    assert isinstance(decision, sm.Reject) and decision.code == "GUARD_FAILED"


def test_corrections_need_a_reason_each() -> None:
    decision = sm.decide(
        sm.PacketView(S.MANUAL_REVIEW, 1),
        trig(kind=sm.OPS_CORRECT, actor=user("ops_tier1"), corrections=[{"field": "beneficiary.mbi", "reason": " "}]),
    )
    assert isinstance(decision, sm.Reject) and decision.code == "GUARD_FAILED"


def test_a_policy_cannot_approve_a_non_affirmation_letter() -> None:
    view = sm.PacketView(S.LETTER_REVIEW, 1, m.Outcome.NON_AFFIRMED)
    decision = sm.decide(
        view, trig(m.LetterApproved(packet_id=PID, letter_id=LID, approved_by="policy:auto-affirmation"))
    )
    assert isinstance(decision, sm.Reject) and decision.code == "GUARD_FAILED"


def test_a_policy_may_approve_an_affirmation_letter() -> None:
    view = sm.PacketView(S.LETTER_REVIEW, 1, m.Outcome.AFFIRMED)
    decision = sm.decide(
        view, trig(m.LetterApproved(packet_id=PID, letter_id=LID, approved_by="policy:auto-affirmation"))
    )
    assert isinstance(decision, sm.Move) and decision.transition == "T14"


def test_entering_validating_starts_a_new_run() -> None:
    decision = sm.decide(
        sm.PacketView(S.MANUAL_REVIEW, validation_run=1),
        trig(
            kind=sm.OPS_CORRECT, actor=user("ops_tier1"), corrections=[{"field": "beneficiary.mbi", "reason": "typo"}]
        ),
    )
    assert isinstance(decision, sm.Move) and decision.effects["validation_run"] == 2


def test_a_letter_redraft_does_not_touch_the_determination() -> None:
    view = sm.PacketView(S.LETTER_REVIEW, 1, m.Outcome.AFFIRMED)
    decision = sm.decide(view, trig(m.LetterRejected(packet_id=PID, letter_id=LID, rejected_by="s", reason="typo")))
    assert isinstance(decision, sm.Move) and "determination" not in decision.effects


def test_the_utn_is_added_exactly_once() -> None:
    view = sm.PacketView(S.DETERMINED, 1, m.Outcome.AFFIRMED)
    assert isinstance(sm.decide_utn(view, "JLA26000000001"), sm.Move)
    done = sm.PacketView(S.DETERMINED, 1, m.Outcome.AFFIRMED, utn="JLA26000000001")
    assert isinstance(sm.decide_utn(done, "JLA26000000001"), sm.Ignore)
    assert isinstance(sm.decide_utn(done, "JLA26000000002"), sm.Reject)


def test_a_dismissal_gets_no_utn() -> None:
    assert isinstance(sm.decide_utn(sm.PacketView(S.DETERMINED, 1, m.Outcome.DISMISSED), "JLA26000000001"), sm.Reject)


def test_ops_can_send_a_packet_back_to_validation_without_changes() -> None:
    command = m.RevalidatePacket(
        packet_id=PID, requested_by="ops1", requested_by_roles=("ops_tier1",), reason="HETS up"
    )
    decision = sm.decide(sm.PacketView(S.MANUAL_REVIEW, validation_run=1), trig(command, actor=user("ops_tier1")))
    assert isinstance(decision, sm.Move) and decision.transition == "T5"
    assert decision.effects["validation_run"] == 2
    nurse = sm.decide(sm.PacketView(S.MANUAL_REVIEW, 1), trig(command, actor=user("clinical_reviewer")))
    assert isinstance(nurse, sm.Reject) and nurse.code == "ROLE_FORBIDDEN"


def test_what_entering_a_state_does_is_in_the_table_not_in_branches_on_rule_ids() -> None:
    determining = {r.transition for r in sm.RULES if r.determines}
    assert determining == {"T4", "T6", "T9", "T11"}
    closing = {
        r.transition: r.effects(sm.PacketView(S.CLINICAL_QUEUE), trig(kind=r.trigger))
        for r in sm.RULES
        if r.target == S.CLOSED and r.effects
    }
    assert closing == {"T16": {"closure_reason": "delivered"}, "T19": {"closure_reason": "withdrawn"}}
    assert all(r.effects is not None for r in sm.RULES if r.target == S.VALIDATING)
