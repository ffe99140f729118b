"""The composition of the checks, the outcome rule, which peers to ask, and reading intake's packet JSON."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from wiser_contracts import messages as m
from wiser_validation.domain import (
    Eligibility,
    Enrollment,
    History,
    NpiRecord,
    OpenRequest,
    PacketFacts,
    decide,
    needed_peers,
    npis_to_look_up,
    run_checks,
)
from wiser_validation.reference import ReferenceSet

Facts = Callable[..., PacketFacts]

NOW = datetime(2026, 5, 1, 14, 30, tzinfo=UTC)  # the run's moment: 2026-05-01 in every WISeR state


def finding(code: str, severity: str) -> m.Finding:
    return m.Finding(check="x", code=code, severity=severity)  # type: ignore[arg-type]


# ------------------------------------------------------------------ outcome rule


def test_no_findings_pass(ref: ReferenceSet) -> None:
    assert decide([], ref) == (m.ValidationOutcome.PASSED, ())


def test_info_and_skipped_findings_alone_still_pass(ref: ReferenceSet) -> None:
    assert decide([finding("NON_WISER_SERVICE", "info"), finding("DUPLICATE_REQUEST", "skipped")], ref)[0] == "passed"


def test_any_correction_without_a_dismissal_needs_correction(ref: ReferenceSet) -> None:
    outcome, reasons = decide([finding("MBI_FORMAT", "correction"), finding("X", "info")], ref)
    assert (outcome, reasons) == (m.ValidationOutcome.NEEDS_CORRECTION, ())


def test_any_dismissal_dismisses_listing_every_code_once_main_reason_first_in_table_order(ref: ReferenceSet) -> None:
    findings = [
        finding("EXEMPT_PROVIDER", "dismiss"),
        finding("MBI_FORMAT", "correction"),
        finding("NOT_ORIGINAL_MEDICARE", "dismiss"),
        finding("WRONG_JURISDICTION", "dismiss"),
        finding("NOT_ORIGINAL_MEDICARE", "dismiss"),
    ]
    outcome, reasons = decide(findings, ref)
    assert outcome == m.ValidationOutcome.DISMISS
    assert [r.code for r in reasons] == ["WRONG_JURISDICTION", "NOT_ORIGINAL_MEDICARE", "EXEMPT_PROVIDER"]
    assert reasons[0].reason == ref.dismissal_reasons["WRONG_JURISDICTION"].reason


# ------------------------------------------------------------------ composition


def clean_run(facts: Facts, eligible: Any, active_npis: Any, enrolled: Any, ref: ReferenceSet, **over: Any) -> list:
    return run_checks(
        over.pop("packet", facts()),
        over.pop("eligibility", eligible),
        over.pop("npis", active_npis),
        over.pop("enrollment", enrolled),
        over.pop("history", History()),
        ref,
        now=NOW,
    )


def test_a_clean_packet_passes_every_check(
    facts: Facts, eligible: Eligibility, active_npis: dict, enrolled: Enrollment, ref: ReferenceSet
) -> None:
    findings = clean_run(facts, eligible, active_npis, enrolled, ref)
    assert findings == []
    assert decide(findings, ref) == (m.ValidationOutcome.PASSED, ())


def test_a_malformed_mbi_skips_eligibility_but_every_other_check_still_runs(
    facts: Facts, active_npis: dict, enrolled: Enrollment, ref: ReferenceSet
) -> None:
    packet = facts(state="NY", document_count=0)
    packet = replace(packet, beneficiary=replace(packet.beneficiary, mbi="9J06-YC0-QA26"))
    findings = run_checks(packet, None, active_npis, enrolled, History(), ref, now=NOW)
    assert [(f.check, f.code, f.severity) for f in findings] == [
        ("jurisdiction", "WRONG_JURISDICTION", "dismiss"),
        ("mbi_format", "MBI_FORMAT", "correction"),
        ("beneficiary", "INVALID_BENEFICIARY", "skipped"),
        ("medicare_coverage", "NOT_ORIGINAL_MEDICARE", "skipped"),
        ("documentation", "MISSING_DOCUMENTATION", "correction"),
    ]
    outcome, reasons = decide(findings, ref)
    assert outcome == m.ValidationOutcome.DISMISS
    assert [r.code for r in reasons] == ["WRONG_JURISDICTION"]


def test_a_bad_practitioner_npi_skips_nppes_and_pecos_and_needs_correction(
    facts: Facts, eligible: Eligibility, active_npis: dict, ref: ReferenceSet
) -> None:
    packet = facts()
    packet = replace(packet, practitioner=replace(packet.practitioner, npi="1151056335"))
    findings = clean_run(facts, eligible, active_npis, None, ref, packet=packet)
    assert [(f.check, f.severity) for f in findings] == [
        ("npi_format", "correction"),
        ("npi_active", "skipped"),
        ("provider_enrollment", "skipped"),
    ]
    assert decide(findings, ref)[0] == m.ValidationOutcome.NEEDS_CORRECTION


def test_an_unreachable_peer_needs_correction_rather_than_a_dismissal(
    facts: Facts, active_npis: dict, enrolled: Enrollment, ref: ReferenceSet
) -> None:
    findings = clean_run(facts, None, active_npis, enrolled, ref, eligibility=Eligibility(status="unavailable"))
    assert [(f.check, f.code) for f in findings] == [
        ("beneficiary", "PEER_UNAVAILABLE"),
        ("medicare_coverage", "PEER_UNAVAILABLE"),
    ]
    assert decide(findings, ref)[0] == m.ValidationOutcome.NEEDS_CORRECTION


def test_every_dismissal_found_is_listed(
    facts: Facts, eligible: Eligibility, active_npis: dict, enrolled: Enrollment, ref: ReferenceSet
) -> None:
    packet = facts()
    packet = replace(packet, practitioner=replace(packet.practitioner, npi="1293773085"))
    npis = {**active_npis, "1293773085": NpiRecord(npi="1293773085", status="active", state="NJ")}
    history = History(open_requests=(OpenRequest("1293773085", "9J06YC0QA26", "sacral_nerve_stimulation", "pkt-0"),))
    findings = clean_run(
        facts,
        eligible,
        npis,
        enrolled,
        ref,
        packet=packet,
        eligibility=replace(eligible, medicare_advantage_on_dos=True),
        enrollment=replace(enrolled, npi="1293773085"),
        history=history,
    )
    outcome, reasons = decide(findings, ref)
    assert outcome == m.ValidationOutcome.DISMISS
    assert [r.code for r in reasons] == ["NOT_ORIGINAL_MEDICARE", "EXEMPT_PROVIDER", "DUPLICATE_REQUEST"]


def test_no_finding_message_carries_phi(
    facts: Facts, eligible: Eligibility, active_npis: dict, enrolled: Enrollment, ref: ReferenceSet
) -> None:
    packet = facts(state="NY", document_count=0, requester=None, diagnosis_codes=[])
    on_file = replace(eligible, first_name="Averie", last_name="Quill", date_of_birth=date(1948, 1, 1))
    findings = clean_run(facts, eligible, active_npis, enrolled, ref, packet=packet, eligibility=on_file)
    assert findings
    for f in findings:
        text = f"{f.message} {f.suggestion or ''}"
        for phi in ("Avery", "Quillon", "Averie", "Quill", "9J06YC0QA26", "1948", "Ursula", "Brightwater"):
            assert phi not in text


# ---------------------------------------------------------------- peers to ask


def test_a_clean_packet_needs_every_peer(facts: Facts, ref: ReferenceSet) -> None:
    assert needed_peers(facts(), ref) == {"hets", "nppes", "pecos"}
    assert npis_to_look_up(facts()) == ("1151056334", "1223236740")


def test_no_hets_call_for_a_malformed_mbi(facts: Facts, ref: ReferenceSet) -> None:
    packet = facts()
    packet = replace(packet, beneficiary=replace(packet.beneficiary, mbi="9j06yc0qa26"))
    assert needed_peers(packet, ref) == {"nppes", "pecos"}


def test_no_pecos_call_and_no_nppes_call_for_an_npi_with_a_bad_check_digit(facts: Facts, ref: ReferenceSet) -> None:
    packet = facts(facility=None)
    packet = replace(packet, practitioner=replace(packet.practitioner, npi="1151056335"))
    assert needed_peers(packet, ref) == {"hets"}
    assert npis_to_look_up(packet) == ()


# ------------------------------------------------------------ intake's packet JSON


def test_intake_packet_json_reads_into_packet_facts(packet_json: Callable[..., dict]) -> None:
    facts = PacketFacts.from_packet_json(packet_json())
    assert facts.packet_id == "pkt-1"
    assert facts.received_on == date(2026, 5, 1)
    assert facts.document_count == 2
    assert facts.beneficiary.date_of_birth == date(1948, 12, 10)
    assert facts.beneficiary.has_address
    assert facts.practitioner.address_state == "NJ"
    assert facts.facility is not None and facts.facility.ccn == "311000" and facts.facility.ptan is None
    assert facts.services[0].code == "64581" and facts.services[0].date_of_service == date(2026, 12, 15)
    assert facts.diagnosis_codes == ("N39.41",)


def test_a_documents_list_counts_when_no_document_count_is_given(packet_json: Callable[..., dict]) -> None:
    doc = packet_json(documents=[{"document_id": "d1"}, {"document_id": "d2"}, {"document_id": "d3"}])
    del doc["document_count"]
    assert PacketFacts.from_packet_json(doc).document_count == 3
