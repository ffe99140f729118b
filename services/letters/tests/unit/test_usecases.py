"""Letters' use cases against in-memory fakes of its ports (its records, intake, clinical, validation, S3)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from fakes import make_ctx
from samples import PACKET, UTN, determination, dismissed_packet

from wiser_contracts import messages as m
from wiser_letters.domain import letter_set as ls
from wiser_letters.usecases import approval, queries
from wiser_letters.usecases.drafting import sweep_waiting_for_utn
from wiser_letters.usecases.errors import Forbidden, Invalid, NotAllowed, NotFound, NotYet
from wiser_letters.usecases.events import on_reclassified, on_transition, on_utn_recorded
from wiser_letters.usecases.ports import Caller

PID = uuid.UUID(PACKET["packet_id"])
KEY = "letters.test"
NURSE = Caller("u-nurse", frozenset({"clinical_reviewer"}))
OPS = Caller("u-ops", frozenset({"ops_tier1"}))
INTAKE = Caller("svc:intake", frozenset({"service"}), service="intake", on_behalf_of="demo-partner")


def determined(
    outcome: str, *, utn: str | None = None, transition: str = "T11", version: int = 9
) -> m.PacketTransitioned:
    return m.PacketTransitioned(
        packet_id=PID,
        producer="intake",
        transition=transition,
        from_state=m.PacketState.MD_REVIEW if transition != "T15" else m.PacketState.LETTER_REVIEW,
        to_state=m.PacketState.DETERMINED,
        version=version,
        actor=m.Actor(type=m.ActorType.SYSTEM, id="intake"),
        outcome=m.Outcome(outcome),
        utn=utn,
    )


def setup(outcome: str, auto: bool = False) -> Any:
    ctx, st, intake, clinical, store = make_ctx(auto)
    intake.packets[PID] = dismissed_packet() if outcome == "dismissed" else copy.deepcopy(PACKET)
    if outcome != "dismissed":
        clinical.determinations[PID] = determination(outcome)
    return ctx, st, intake, clinical, store


def kinds(st: Any) -> list[str]:
    return [type(x).__name__ for x in st.outbox]


async def test_dismissal_is_drafted_at_once_without_utn() -> None:
    ctx, st, *_, store = setup("dismissed")
    out = await on_transition(ctx, determined("dismissed", transition="T4"), KEY)
    assert out is not None and out.status == "drafted" and out.version == 1
    assert kinds(st) == ["LetterDrafted"]
    drafted = st.outbox[0]
    assert drafted.kind == "dismissal" and drafted.letter_version == 1 and drafted.packet_version == 9
    s = st.sets[out.set_id]
    assert drafted.letter_id == s.letters["requester"]
    assert set(store.objects) == {ls.object_key(s.letters[r], 1) for r in ("requester", "beneficiary")}
    assert all(str(PID) not in k and "Quillon" not in k for k in store.objects)


async def test_merits_decision_waits_for_the_utn() -> None:
    ctx, st, _, clinical, _ = setup("non_affirmed")
    clinical.determinations[PID]["utn"] = None  # the MAC has not answered yet
    assert await on_transition(ctx, determined("non_affirmed"), KEY) is None
    assert st.outbox == [] and st.sets == {}
    with pytest.raises(NotFound) as e:
        await queries.by_packet(ctx, PID, NURSE)
    assert "UTN" in e.value.detail
    utn = m.PacketUtnRecorded(packet_id=PID, producer="intake", utn=UTN, version=10)
    out = await on_utn_recorded(ctx, utn, KEY)
    assert out is not None and out.status == "drafted"
    assert kinds(st) == ["LetterDrafted"] and st.outbox[0].packet_version == 10


async def test_utn_on_the_transition_is_enough() -> None:
    ctx, _st, *_ = setup("affirmed")
    out = await on_transition(ctx, determined("affirmed", utn=UTN, transition="T9"), KEY)
    assert out is not None and out.status == "drafted"


async def test_the_utn_clinical_already_knows_is_enough() -> None:
    ctx, st, *_ = setup("affirmed")
    out = await on_transition(ctx, determined("affirmed", transition="T9"), KEY)
    assert out is not None and out.status == "drafted"
    assert st.sets[out.set_id].status == "drafted"


async def test_the_sweep_drafts_once_clinical_has_the_utn() -> None:
    ctx, st, _, clinical, _ = setup("affirmed")
    clinical.determinations[PID]["utn"] = None
    assert await on_transition(ctx, determined("affirmed", transition="T9"), KEY) is None
    assert await sweep_waiting_for_utn(ctx) == 0
    clinical.determinations[PID]["utn"] = UTN
    assert await sweep_waiting_for_utn(ctx) == 1
    assert kinds(st) == ["LetterDrafted"]
    assert await sweep_waiting_for_utn(ctx) == 0


async def test_utn_before_the_transition() -> None:
    ctx, st, *_ = setup("affirmed")
    await on_utn_recorded(ctx, m.PacketUtnRecorded(packet_id=PID, producer="intake", utn=UTN, version=10), KEY)
    assert st.outbox == []
    out = await on_transition(ctx, determined("affirmed", transition="T9"), KEY)
    assert out is not None and out.status == "drafted"


async def test_no_determination_yet_is_not_yet() -> None:
    ctx, st, _intake, clinical, _ = setup("affirmed")
    clinical.determinations.clear()
    with pytest.raises(NotYet):
        await on_transition(ctx, determined("affirmed", utn=UTN), KEY)
    assert st.outbox == [] and st.inbox == set()


async def test_duplicate_and_reannounced_transitions_draft_once() -> None:
    ctx, st, *_ = setup("dismissed")
    msg = determined("dismissed", transition="T4")
    await on_transition(ctx, msg, KEY)
    assert await on_transition(ctx, msg, KEY) is None
    again = msg.model_copy(update={"message_id": uuid.uuid4()})
    assert await on_transition(ctx, again, KEY) is None
    assert kinds(st) == ["LetterDrafted"]


async def test_policy_approves_clean_affirmations_only() -> None:
    ctx, st, *_ = setup("affirmed", auto=True)
    await on_transition(ctx, determined("affirmed", utn=UTN, transition="T9"), KEY)
    assert kinds(st) == ["LetterDrafted", "LetterApproved"]
    assert st.outbox[1].approved_by == "policy:auto-affirmation"
    ctx, st, *_ = setup("non_affirmed", auto=True)
    await on_transition(ctx, determined("non_affirmed", utn=UTN), KEY)
    assert kinds(st) == ["LetterDrafted"]


async def test_a_person_approves_a_non_affirmation() -> None:
    ctx, st, *_ = setup("non_affirmed")
    out = await on_transition(ctx, determined("non_affirmed", utn=UTN), KEY)
    assert out is not None
    with pytest.raises(Forbidden):
        await approval.approve(ctx, out.set_id, 1, OPS)
    with pytest.raises(NotAllowed):
        await approval.approve(ctx, out.set_id, 2, NURSE)
    s = await approval.approve(ctx, out.set_id, 1, NURSE)
    assert s.status == "approved"
    approved = st.outbox[-1]
    assert isinstance(approved, m.LetterApproved)
    assert approved.approved_by == "u-nurse" and approved.approver_role == "clinical_reviewer"
    with pytest.raises(NotAllowed):
        await approval.approve(ctx, out.set_id, 1, NURSE)


async def test_rejection_then_t15_redrafts_a_new_version() -> None:
    ctx, st, *_ = setup("partially_affirmed")
    out = await on_transition(ctx, determined("partially_affirmed", utn=UTN), KEY)
    assert out is not None
    with pytest.raises(Invalid):
        await approval.reject(ctx, out.set_id, 1, "  ", NURSE)
    await approval.reject(ctx, out.set_id, 1, "wrong peer-to-peer hours", NURSE)
    rejected = st.outbox[-1]
    assert isinstance(rejected, m.LetterRejected) and rejected.reason == "wrong peer-to-peer hours"
    again = await on_transition(ctx, determined("partially_affirmed", utn=UTN, transition="T15", version=11), KEY)
    assert again is not None and again.version == 2 and again.status == "drafted"
    assert [type(x).__name__ for x in st.outbox] == ["LetterDrafted", "LetterRejected", "LetterDrafted"]
    assert st.outbox[-1].letter_version == 2
    h = await queries.history(ctx, out.set_id, NURSE)
    assert [(v["version"], v["action"]) for v in h["versions"]] == [(1, "drafted"), (2, "redrafted")]
    assert [a["decision"] for a in h["approvals"]] == ["rejected"]


async def test_edit_makes_a_new_checked_version() -> None:
    ctx, st, *_, store = setup("non_affirmed")
    out = await on_transition(ctx, determined("non_affirmed", utn=UTN), KEY)
    assert out is not None
    edited = await approval.edit(
        ctx, out.set_id, 1, {"requester": {"closing": "Call us with any question about this letter."}}, NURSE
    )
    assert edited.version == 2
    s = st.sets[out.set_id]
    assert s.version == 2 and s.status == "drafted"
    assert ls.object_key(s.letters["requester"], 2) in store.objects
    with pytest.raises(Invalid):  # only the free-text paragraphs
        await approval.edit(ctx, out.set_id, 2, {"requester": {"reasons": "none"}}, NURSE)
    with pytest.raises(Invalid) as e:  # an edit that fails a check is refused
        hard = "Notwithstanding comprehensive neurophysiological documentation, authorization necessitates review."
        await approval.edit(ctx, out.set_id, 2, {"beneficiary": {"opening": hard * 4}}, NURSE)
    assert e.value.code == "LETTER_CHECK_FAILED"
    await approval.approve(ctx, out.set_id, 2, NURSE)


async def test_missing_data_blocks_then_one_action_redrafts() -> None:
    ctx, st, intake, *_ = setup("non_affirmed")
    intake.packets[PID]["practitioner"]["ptan"] = ""
    out = await on_transition(ctx, determined("non_affirmed", utn=UTN), KEY)
    assert out is not None and out.status == "blocked" and "PTAN" in (out.reason or "")
    assert st.outbox == []
    listed = await queries.pending(ctx, NURSE, ("blocked",), 10)
    assert listed["items"][0]["blocked_reason"] == out.reason
    with pytest.raises(Forbidden):
        await approval.redraft(ctx, out.set_id, OPS)
    intake.packets[PID]["practitioner"]["ptan"] = "NJ100000"
    again = await approval.redraft(ctx, out.set_id, NURSE)
    assert again.status == "drafted" and again.version == 2
    assert kinds(st) == ["LetterDrafted"]


async def test_partners_get_approved_versions_only_and_every_view_is_audited() -> None:
    ctx, st, *_ = setup("non_affirmed")
    out = await on_transition(ctx, determined("non_affirmed", utn=UTN), KEY)
    assert out is not None
    letter_id = st.sets[out.set_id].letters["requester"]
    pdf, v = await queries.pdf(ctx, letter_id, None, NURSE)
    assert pdf.startswith(b"%PDF") and v == 1
    with pytest.raises(NotFound):
        await queries.pdf(ctx, letter_id, None, INTAKE)
    await approval.approve(ctx, out.set_id, 1, NURSE)
    pdf2, v2 = await queries.pdf(ctx, letter_id, None, INTAKE)
    assert pdf2 == pdf and v2 == 1
    outcomes = [(x.viewer, x.outcome, x.on_behalf_of) for x in st.views if x.what == "pdf"]
    assert outcomes == [
        ("u-nurse", "ok", None),
        ("svc:intake", "not_available", "demo-partner"),
        ("svc:intake", "ok", "demo-partner"),
    ]


async def test_a_pdf_gone_from_storage_is_said_plainly_not_a_500() -> None:
    ctx, st, *_ = setup("non_affirmed")
    out = await on_transition(ctx, determined("non_affirmed", utn=UTN), KEY)
    assert out is not None
    ctx.store.objects.clear()  # type: ignore[attr-defined]  # a bucket emptied behind our back
    with pytest.raises(NotFound) as refused:
        await queries.pdf(ctx, st.sets[out.set_id].letters["requester"], None, NURSE)
    assert refused.value.code == "LETTER_PDF_MISSING"
    assert [x.outcome for x in st.views if x.what == "pdf"] == ["missing"]


async def test_reclassification_notice() -> None:
    from datetime import UTC, datetime

    ctx, st, *_, _store = setup("affirmed")
    msg = m.PacketReclassified(
        packet_id=PID, producer="intake", due_at=datetime(2026, 11, 26, 14, tzinfo=UTC), version=5, reason="not urgent"
    )
    out = await on_reclassified(ctx, msg, KEY)
    assert out is not None and out.status == "approved"
    notice = await queries.by_packet(ctx, PID, NURSE, "notice")
    assert notice["kind"] == "reclassification_notice" and notice["letters"][0]["sha256"]
    assert st.outbox == []  # nothing moves the packet


async def test_a_duplicate_notice_message_draws_nothing() -> None:
    from datetime import UTC, datetime

    ctx, st, *_, store = setup("affirmed")
    msg = m.PacketReclassified(packet_id=PID, producer="intake", due_at=datetime(2026, 11, 26, tzinfo=UTC), version=5)
    await on_reclassified(ctx, msg, KEY)
    objects = dict(store.objects)
    assert await on_reclassified(ctx, msg, KEY) is None
    assert store.objects == objects
    assert [v.version for vs in st.versions.values() for v in vs] == [1]
