"""Intake's commands (submit, correct, dismiss, withdraw, add a document) against in-memory ports: what each
writes, what it emits, and that a refusal or failure leaves nothing half-written."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import Any

import pytest

from wiser_contracts import messages as m
from wiser_intake.domain.documents import MAX_DOCUMENTS
from wiser_intake.domain.packet import PacketIn
from wiser_intake.entrypoints.messaging import trigger_for
from wiser_intake.usecases import errors
from wiser_intake.usecases import packets as uc
from wiser_intake.usecases.transitions import Applied, apply_bus_trigger
from wiser_servicekit.fixtures import packet_body
from wiser_servicekit.identity import Identity

from .fakes import World, pdf, world

PARTNER = "partner-a"


def packet(**over: Any) -> PacketIn:
    return PacketIn.model_validate({**packet_body("Quillon", "Brightwater", state="NJ", facility_state="NJ"), **over})


def document(text: str = "note") -> uc.IncomingDocument:
    body = pdf(text)
    data = body.read()
    body.seek(0)
    return uc.IncomingDocument(
        document_id=uuid.uuid4(),
        filename="note.pdf",
        content_type="application/pdf",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        category="clinical",
        fileobj=body,
    )


def person(*roles: str, user: str = "u-1") -> Identity:
    return Identity(user_id=user, roles=frozenset(roles))


async def submitted(w: World, **kw: Any) -> uuid.UUID:
    _, summary = await uc.submit_packet(w.ctx, PARTNER, packet(), kw.pop("docs", []), **kw)
    return uuid.UUID(summary["packet_id"])


async def in_manual_review(w: World) -> uuid.UUID:
    pid = await submitted(w)
    needs_fix = m.PacketValidated(
        packet_id=pid,
        producer="validation",
        run=1,
        outcome=m.ValidationOutcome.NEEDS_CORRECTION,
        findings=(m.Finding(check="mbi_format", code="MBI_FORMAT", severity="correction", field="beneficiary.mbi"),),
    )
    await apply_bus_trigger(w.ctx.uow, "intake.test", needs_fix, trigger_for(needs_fix))
    assert w.db.packet(pid)["state"] == "manual_review"
    return pid


# ------------------------------------------------------------------------------------------ submit


async def test_submitting_stores_the_packet_and_its_documents_and_moves_it_to_validating() -> None:
    w = world()
    created, summary = await uc.submit_packet(
        w.ctx, PARTNER, packet(), [document()], idempotency_key="k1", req_hash="h1"
    )
    assert created and summary["state"] == "validating" and summary["tracking_number"].startswith("WSR-2026-")
    row = w.db.packet(summary["packet_id"])
    assert (row["version"], row["validation_run"], row["partner_client_id"]) == (2, 1, PARTNER)
    assert row["received_at"] == w.clock.at and row["due_at"] - row["received_at"] == timedelta(days=3)
    assert [t["transition"] for t in w.db.tables.transitions] == ["T1"]
    assert [type(x) for x in w.db.emitted()] == [m.PacketReceived, m.PacketTransitioned]
    (doc,) = w.db.tables.documents
    assert w.store.objects[doc["s3_key"]].startswith(b"%PDF")


async def test_the_same_idempotency_key_answers_as_the_first_time_and_refuses_another_body() -> None:
    w = world()
    first = await uc.submit_packet(w.ctx, PARTNER, packet(), [], idempotency_key="k", req_hash="h")
    again = await uc.submit_packet(w.ctx, PARTNER, packet(), [], idempotency_key="k", req_hash="h")
    assert first[0] and not again[0] and again[1] == first[1]
    assert len(w.db.tables.packets) == 1
    with pytest.raises(errors.Invalid) as refused:
        await uc.submit_packet(w.ctx, PARTNER, packet(), [], idempotency_key="k", req_hash="other")
    assert refused.value.code == "IDEMPOTENCY_KEY_REUSED"


async def test_a_failed_submit_writes_nothing_and_removes_the_stored_documents() -> None:
    w = world()
    w.db.fail_next_commit = ConnectionError("database went away")
    with pytest.raises(ConnectionError):
        await uc.submit_packet(w.ctx, PARTNER, packet(), [document(), document("two")])
    assert not w.db.tables.packets and not w.db.tables.outbox and not w.store.objects


# -------------------------------------------------------------------------------------- correct


async def test_a_correction_records_old_and_new_values_and_validates_again() -> None:
    w = world()
    pid = await in_manual_review(w)
    old_mbi = w.db.packet(pid)["beneficiary"]["mbi"]
    change = {"field": "beneficiary.mbi", "value": "9J06YC0QA26", "reason": "typo on the form"}
    result = await uc.correct_packet(w.ctx, person("ops_tier1"), pid, 3, [change])
    assert isinstance(result, Applied) and result.version == 4
    row = w.db.packet(pid)
    assert (row["state"], row["version"], row["validation_run"]) == ("validating", 4, 2)
    assert row["beneficiary"]["mbi"] == "9J06YC0QA26"
    (fix,) = w.db.tables.corrections
    assert (fix["old_value"], fix["new_value"], fix["version"], fix["actor_id"]) == (old_mbi, "9J06YC0QA26", 4, "u-1")
    corrected = w.db.emitted(m.PacketCorrected)
    assert corrected and corrected[-1].fields == ("beneficiary.mbi",)
    assert w.db.emitted(m.PacketTransitioned)[-1].transition == "T5"


async def test_a_correction_on_a_stale_version_or_with_a_bad_value_changes_nothing() -> None:
    w = world()
    pid = await in_manual_review(w)
    before = w.db.packet(pid).copy()
    change = {"field": "beneficiary.mbi", "value": "9J06YC0QA26", "reason": "typo"}
    with pytest.raises(errors.Stale):
        await uc.correct_packet(w.ctx, person("ops_tier1"), pid, 2, [change])
    with pytest.raises(errors.Invalid) as bad:
        await uc.correct_packet(
            w.ctx, person("ops_tier1"), pid, 3, [{**change, "field": "beneficiary.date_of_birth", "value": "nope"}]
        )
    assert bad.value.code == "VALIDATION_FAILED"
    with pytest.raises(errors.Invalid) as locked:
        await uc.correct_packet(w.ctx, person("ops_tier1"), pid, 3, [{**change, "field": "review_type"}])
    assert locked.value.code == "FIELD_NOT_CORRECTABLE"
    assert w.db.packet(pid) == before and not w.db.tables.corrections and not w.db.emitted(m.PacketCorrected)


# -------------------------------------------------------------------------------------- dismiss


async def test_a_dismissal_keeps_the_reference_texts_it_was_made_with() -> None:
    w = world()
    pid = await in_manual_review(w)
    await uc.dismiss_packet(w.ctx, person("ops_tier2"), pid, "INVALID_BENEFICIARY", "deceased per SSA")
    row = w.db.packet(pid)
    assert row["state"] == "determined" and row["determination"]["outcome"] == "dismissed"
    assert row["dismissal"]["reason"] == "MBI invalid (test list)"
    assert row["dismissal"]["corrective_action"] == "Resubmit (test list)"
    assert row["dismissal"]["note"] == "deceased per SSA"
    # the reference changes later: the decision does not
    w.reference.reasons["INVALID_BENEFICIARY"] = type(w.reference.reasons["INVALID_BENEFICIARY"])(
        "INVALID_BENEFICIARY", "reworded", "reworded"
    )
    assert w.db.packet(pid)["dismissal"]["reason"] == "MBI invalid (test list)"
    assert w.db.emitted(m.PacketTransitioned)[-1].outcome == m.Outcome.DISMISSED


async def test_a_code_outside_the_reference_is_refused_and_the_refusal_recorded() -> None:
    w = world()
    pid = await in_manual_review(w)
    with pytest.raises(errors.NotAllowed) as refused:
        await uc.dismiss_packet(w.ctx, person("ops_tier2"), pid, "BECAUSE", "no reason")
    assert refused.value.code == "GUARD_FAILED"
    assert w.db.packet(pid)["state"] == "manual_review"
    assert [r["code"] for r in w.db.tables.rejections] == ["GUARD_FAILED"]
    with pytest.raises(errors.Forbidden):
        await uc.dismiss_packet(w.ctx, person("ops_tier1"), pid, "INVALID_BENEFICIARY", "tier 1 may not")


async def test_no_dismissal_while_the_reference_is_unreachable() -> None:
    w = world()
    pid = await in_manual_review(w)
    w.reference.reachable = False
    commits = w.db.commits
    with pytest.raises(errors.Unavailable):
        await uc.dismiss_packet(w.ctx, person("supervisor"), pid, "INVALID_BENEFICIARY", "deceased")
    assert w.db.commits == commits and w.db.packet(pid)["state"] == "manual_review"


# ------------------------------------------------------------------------------------- withdraw


async def test_the_requester_withdraws_its_own_packet_only_and_only_before_a_determination() -> None:
    w = world()
    pid = await submitted(w)
    with pytest.raises(errors.NotFound):
        await uc.withdraw_packet(w.ctx, pid, "not mine", partner="partner-b")
    await uc.withdraw_packet(w.ctx, pid, "cancelled", partner=PARTNER)
    row = w.db.packet(pid)
    assert (row["state"], row["closure_reason"]) == ("closed", "withdrawn")
    last = w.db.emitted(m.PacketTransitioned)[-1]
    assert (last.transition, last.actor.type, last.closure_reason) == ("T19", m.ActorType.PARTNER, "withdrawn")
    with pytest.raises(errors.NotAllowed):
        await uc.withdraw_packet(w.ctx, pid, "again", partner=PARTNER)


async def test_a_nurse_cannot_withdraw_but_a_supervisor_can() -> None:
    w = world()
    pid = await submitted(w)
    with pytest.raises(errors.NotAllowed):
        await uc.withdraw_packet(w.ctx, pid, "no", identity=person("clinical_reviewer"))
    await uc.withdraw_packet(w.ctx, pid, "requester called", identity=person("supervisor"))
    assert w.db.packet(pid)["state"] == "closed"


# --------------------------------------------------------------------------------- add document


async def test_a_document_is_added_to_an_open_packet_of_its_partner() -> None:
    w = world()
    pid = await submitted(w)
    out = await uc.add_document(w.ctx, PARTNER, pid, document("more"))
    (row,) = w.db.tables.documents
    assert out["document_id"] == str(row["id"]) and w.store.objects[row["s3_key"]].endswith(b"more\n%%EOF\n")
    with pytest.raises(errors.NotFound):
        await uc.add_document(w.ctx, "partner-b", pid, document())


async def test_no_document_after_a_determination_nor_beyond_the_limit() -> None:
    w = world()
    pid = await submitted(w, docs=[document(str(i)) for i in range(MAX_DOCUMENTS)])
    with pytest.raises(errors.TooMany):
        await uc.add_document(w.ctx, PARTNER, pid, document("one too many"))
    decided = await in_manual_review(w)
    await uc.dismiss_packet(w.ctx, person("supervisor"), decided, "WRONG_JURISDICTION", "wrong MAC")
    stored = len(w.store.objects)
    with pytest.raises(errors.NotAllowed):
        await uc.add_document(w.ctx, PARTNER, decided, document("late"))
    assert len(w.store.objects) == stored and len(w.db.tables.documents) == MAX_DOCUMENTS


async def test_a_document_whose_row_cannot_be_written_leaves_no_bytes_behind() -> None:
    w = world()
    pid = await submitted(w)
    w.db.fail_next_commit = ConnectionError("database went away")
    with pytest.raises(ConnectionError):
        await uc.add_document(w.ctx, PARTNER, pid, document())
    assert not w.store.objects and not w.db.tables.documents
