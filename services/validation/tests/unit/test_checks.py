"""Each check of "How validation decides", passing and failing, and when it is skipped."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime

import pytest

from wiser_contracts import messages as m
from wiser_validation.domain import (
    Eligibility,
    Enrollment,
    History,
    IssuedUtn,
    NpiRecord,
    OpenRequest,
    PacketFacts,
)
from wiser_validation.domain import checks as c
from wiser_validation.reference import ReferenceSet

Facts = Callable[..., PacketFacts]


def summary(findings: list[m.Finding]) -> list[tuple[str, str, str | None]]:
    return [(f.code, f.severity, f.field) for f in findings]


# ------------------------------------------------------------------ jurisdiction


def test_a_served_state_passes_the_jurisdiction_check(facts: Facts, ref: ReferenceSet) -> None:
    assert c.check_jurisdiction(facts(state="TX"), ref) == []


def test_a_state_not_served_is_dismissed_as_wrong_jurisdiction(facts: Facts, ref: ReferenceSet) -> None:
    assert summary(c.check_jurisdiction(facts(state="NY"), ref)) == [("WRONG_JURISDICTION", "dismiss", "state")]


# --------------------------------------------------------------------------- MBI


def with_mbi(packet: PacketFacts, mbi: str) -> PacketFacts:
    return replace(packet, beneficiary=replace(packet.beneficiary, mbi=mbi))


def test_a_well_formed_mbi_passes(facts: Facts) -> None:
    assert c.check_mbi_format(facts()) == []


@pytest.mark.parametrize("mbi", ["9J06-YC0-QA26", "9j06yc0qa26", "9S06YC0QA26"])
def test_a_malformed_mbi_needs_correction(facts: Facts, mbi: str) -> None:
    findings = c.check_mbi_format(with_mbi(facts(), mbi))
    assert summary(findings) == [("MBI_FORMAT", "correction", "beneficiary.mbi")]
    assert mbi.upper()[:4] not in findings[0].message.upper()


# ------------------------------------------------------------------- beneficiary


def test_a_beneficiary_known_with_matching_name_and_dob_passes(facts: Facts, eligible: Eligibility) -> None:
    assert c.check_beneficiary(facts(), eligible) == []


def test_names_match_eligibility_regardless_of_case(facts: Facts, eligible: Eligibility) -> None:
    assert c.check_beneficiary(facts(), replace(eligible, first_name="AVERY", last_name="quillon")) == []


def test_a_name_or_dob_mismatch_needs_correction_per_field(facts: Facts, eligible: Eligibility) -> None:
    on_file = replace(eligible, last_name="Quillen", date_of_birth=date(1948, 12, 11))
    findings = c.check_beneficiary(facts(), on_file)
    assert summary(findings) == [
        ("BENEFICIARY_MISMATCH", "correction", "beneficiary.last_name"),
        ("BENEFICIARY_MISMATCH", "correction", "beneficiary.date_of_birth"),
    ]
    assert all("Quill" not in f.message and "1948" not in f.message for f in findings)


def test_an_unknown_beneficiary_is_dismissed(facts: Facts) -> None:
    assert summary(c.check_beneficiary(facts(), Eligibility(status="not_found"))) == [
        ("INVALID_BENEFICIARY", "dismiss", "beneficiary.mbi")
    ]


@pytest.mark.parametrize("death", [date(2026, 3, 2), date(2026, 12, 15)])
def test_a_beneficiary_deceased_on_or_before_the_date_of_service_is_dismissed(
    facts: Facts, eligible: Eligibility, death: date
) -> None:
    findings = c.check_beneficiary(facts(), replace(eligible, date_of_death=death))
    assert summary(findings) == [("INVALID_BENEFICIARY", "dismiss", "beneficiary.mbi")]


def test_a_death_after_the_date_of_service_is_not_a_dismissal(facts: Facts, eligible: Eligibility) -> None:
    assert c.check_beneficiary(facts(), replace(eligible, date_of_death=date(2026, 12, 16))) == []


def test_the_beneficiary_check_is_skipped_when_the_mbi_is_malformed(facts: Facts, eligible: Eligibility) -> None:
    findings = c.check_beneficiary(with_mbi(facts(), "9j06yc0qa26"), eligible)
    assert summary(findings) == [("INVALID_BENEFICIARY", "skipped", "beneficiary.mbi")]
    assert "malformed" in findings[0].message


def test_the_beneficiary_check_is_skipped_when_eligibility_was_not_looked_up(facts: Facts) -> None:
    assert summary(c.check_beneficiary(facts(), None)) == [("INVALID_BENEFICIARY", "skipped", "beneficiary.mbi")]


def test_hets_unavailable_makes_the_beneficiary_check_a_peer_unavailable_correction(facts: Facts) -> None:
    findings = c.check_beneficiary(facts(), Eligibility(status="unavailable"))
    assert [(f.check, f.code, f.severity) for f in findings] == [("beneficiary", "PEER_UNAVAILABLE", "correction")]


# -------------------------------------------------------------- medicare coverage


def test_part_b_in_effect_without_ma_railroad_or_medicaid_only_passes(facts: Facts, eligible: Eligibility) -> None:
    assert c.check_medicare_coverage(facts(), eligible) == []


@pytest.mark.parametrize(
    "change",
    [
        {"part_b_active_on_dos": False},
        {"medicare_advantage_on_dos": True},
        {"railroad": True},
        {"medicaid_only": True, "part_a_active_on_dos": False, "part_b_active_on_dos": False},
    ],
)
def test_anything_but_original_medicare_is_dismissed(facts: Facts, eligible: Eligibility, change: dict) -> None:
    findings = c.check_medicare_coverage(facts(), replace(eligible, **change))
    assert summary(findings) == [("NOT_ORIGINAL_MEDICARE", "dismiss", "beneficiary.mbi")]


def test_the_coverage_check_is_skipped_for_a_malformed_mbi_or_an_unknown_beneficiary(
    facts: Facts, eligible: Eligibility
) -> None:
    assert c.check_medicare_coverage(with_mbi(facts(), "BAD"), eligible)[0].severity == "skipped"
    assert c.check_medicare_coverage(facts(), Eligibility(status="not_found"))[0].severity == "skipped"


def test_hets_unavailable_makes_the_coverage_check_a_peer_unavailable_correction(facts: Facts) -> None:
    findings = c.check_medicare_coverage(facts(), Eligibility(status="unavailable"))
    assert [(f.check, f.code) for f in findings] == [("medicare_coverage", "PEER_UNAVAILABLE")]


# -------------------------------------------------------------------- NPI format


def with_npis(packet: PacketFacts, practitioner: str | None = None, facility: str | None = None) -> PacketFacts:
    assert packet.facility is not None
    return replace(
        packet,
        practitioner=replace(packet.practitioner, npi=practitioner or packet.practitioner.npi),
        facility=replace(packet.facility, npi=facility or packet.facility.npi),
    )


def test_npis_with_valid_check_digits_pass(facts: Facts) -> None:
    assert c.check_npi_format(facts()) == []


def test_each_npi_with_a_bad_check_digit_needs_correction(facts: Facts) -> None:
    packet = with_npis(facts(), practitioner="1151056335", facility="1223236741")
    assert summary(c.check_npi_format(packet)) == [
        ("NPI_FORMAT", "correction", "practitioner.npi"),
        ("NPI_FORMAT", "correction", "facility.npi"),
    ]


# -------------------------------------------------------------------- NPI active


def test_active_npis_pass(facts: Facts, active_npis: dict[str, NpiRecord]) -> None:
    assert c.check_npi_active(facts(), active_npis) == []


@pytest.mark.parametrize("status", ["deactivated", "not_found"])
def test_an_npi_not_active_in_nppes_is_dismissed_as_invalid_billing_info(
    facts: Facts, active_npis: dict[str, NpiRecord], status: str
) -> None:
    npis = {**active_npis, "1223236740": NpiRecord(npi="1223236740", status=status)}  # type: ignore[arg-type]
    assert summary(c.check_npi_active(facts(), npis)) == [("INVALID_BILLING_INFO", "dismiss", "facility.npi")]


def test_the_nppes_check_is_skipped_for_an_npi_with_a_bad_check_digit(
    facts: Facts, active_npis: dict[str, NpiRecord]
) -> None:
    packet = with_npis(facts(), practitioner="1151056335")
    assert summary(c.check_npi_active(packet, active_npis)) == [("INVALID_BILLING_INFO", "skipped", "practitioner.npi")]


def test_nppes_unavailable_is_a_peer_unavailable_correction(facts: Facts) -> None:
    npis = {n: NpiRecord(npi=n, status="unavailable") for n in ("1151056334", "1223236740")}
    assert summary(c.check_npi_active(facts(), npis)) == [
        ("PEER_UNAVAILABLE", "correction", "practitioner.npi"),
        ("PEER_UNAVAILABLE", "correction", "facility.npi"),
    ]


# ------------------------------------------------------------------- enrollment


def test_an_enrolled_md_practising_in_a_wiser_state_passes(
    facts: Facts, enrolled: Enrollment, active_npis: dict[str, NpiRecord], ref: ReferenceSet
) -> None:
    assert c.check_provider_enrollment(facts(), enrolled, active_npis, ref) == []


@pytest.mark.parametrize(
    ("change", "which"),
    [
        ({"status": "not_enrolled"}, "(enrolment)"),
        ({"status": "not_found"}, "(enrolment)"),
        ({"provider_type": "DC"}, "(provider type)"),
        ({"provider_type": "PT"}, "(provider type)"),
        ({"provider_type": None}, "(provider type)"),
        ({"state": "NY"}, "(practice state)"),
    ],
)
def test_a_practitioner_not_enrolled_of_an_ineligible_type_or_outside_wiser_states_is_dismissed(
    facts: Facts, enrolled: Enrollment, active_npis: dict[str, NpiRecord], ref: ReferenceSet, change: dict, which: str
) -> None:
    findings = c.check_provider_enrollment(facts(), replace(enrolled, **change), active_npis, ref)
    assert summary(findings) == [("INELIGIBLE_PROVIDER", "dismiss", "practitioner.npi")]
    assert which in findings[0].message  # the message says whether the enrolment, the type or the state failed


@pytest.mark.parametrize("kind", ["MD", "DO", "DPM", "NP", "PA", "CNS"])
def test_physicians_and_the_non_physician_practitioners_are_eligible_types(
    facts: Facts, enrolled: Enrollment, active_npis: dict[str, NpiRecord], ref: ReferenceSet, kind: str
) -> None:
    assert c.check_provider_enrollment(facts(), replace(enrolled, provider_type=kind), active_npis, ref) == []


def test_an_ineligible_type_practising_outside_the_wiser_states_gets_both_reasons(
    facts: Facts, enrolled: Enrollment, active_npis: dict[str, NpiRecord], ref: ReferenceSet
) -> None:
    findings = c.check_provider_enrollment(facts(), replace(enrolled, provider_type="DC", state="NY"), active_npis, ref)
    assert [f.message.split(":")[0] for f in findings] == [
        "Ineligible provider (provider type)",
        "Ineligible provider (practice state)",
    ]


def test_the_chiropractor_and_physician_assistant_fixtures(
    facts: Facts, active_npis: dict[str, NpiRecord], ref: ReferenceSet, fixtures: dict
) -> None:
    pracs = {p["last_name"]: p for p in fixtures["providers"]["practitioners"]}

    def enrollment(name: str) -> Enrollment:
        p = pracs[name]
        return Enrollment(npi=p["npi"], status="enrolled", provider_type=p["provider_type"], state=p["state"])

    def packet(name: str) -> PacketFacts:
        return with_npis(facts(state=pracs[name]["state"]), practitioner=pracs[name]["npi"])

    assert c.check_provider_enrollment(packet("Quenby"), enrollment("Quenby"), active_npis, ref) == []
    chiropractor = c.check_provider_enrollment(packet("Halvorsen"), enrollment("Halvorsen"), active_npis, ref)
    assert summary(chiropractor) == [("INELIGIBLE_PROVIDER", "dismiss", "practitioner.npi")]
    assert "(provider type)" in chiropractor[0].message and "DC" in chiropractor[0].message


def test_practising_in_a_wiser_state_is_judged_against_all_six_whatever_is_served(
    facts: Facts, enrolled: Enrollment, active_npis: dict[str, NpiRecord], ref: ReferenceSet
) -> None:
    """A deployment serving NJ only still sees an OH practitioner as practising in a WISeR state."""
    assert c.check_jurisdiction(facts(state="NJ"), ref, served={"NJ"}) == []
    assert c.check_provider_enrollment(facts(), replace(enrolled, state="OH"), active_npis, ref) == []


def test_the_practice_state_falls_back_to_nppes(facts: Facts, enrolled: Enrollment, ref: ReferenceSet) -> None:
    npis = {"1151056334": NpiRecord(npi="1151056334", status="active", state="NY")}
    findings = c.check_provider_enrollment(facts(), replace(enrolled, state=None), npis, ref)
    assert summary(findings) == [("INELIGIBLE_PROVIDER", "dismiss", "practitioner.npi")]


def test_pecos_is_skipped_when_the_practitioner_npi_check_digit_is_bad(
    facts: Facts, enrolled: Enrollment, active_npis: dict[str, NpiRecord], ref: ReferenceSet
) -> None:
    packet = with_npis(facts(), practitioner="1151056335")
    findings = c.check_provider_enrollment(packet, enrolled, active_npis, ref)
    assert summary(findings) == [("INELIGIBLE_PROVIDER", "skipped", "practitioner.npi")]


def test_pecos_unavailable_is_a_peer_unavailable_correction(
    facts: Facts, active_npis: dict[str, NpiRecord], ref: ReferenceSet
) -> None:
    findings = c.check_provider_enrollment(
        facts(), Enrollment(npi="1151056334", status="unavailable"), active_npis, ref
    )
    assert [(f.check, f.code, f.severity) for f in findings] == [
        ("provider_enrollment", "PEER_UNAVAILABLE", "correction")
    ]


# -------------------------------------------------------------------- exemption


def test_a_practitioner_without_a_gold_card_passes(facts: Facts, ref: ReferenceSet) -> None:
    assert c.check_exemption(facts(), ref) == []


def test_a_gold_card_practitioner_is_dismissed_as_exempt(facts: Facts, ref: ReferenceSet) -> None:
    packet = facts()
    packet = replace(packet, practitioner=replace(packet.practitioner, npi="1293773085"))
    assert summary(c.check_exemption(packet, ref)) == [("EXEMPT_PROVIDER", "dismiss", "practitioner.npi")]


# -------------------------------------------------------------------- duplicate


def open_request(**over: str) -> OpenRequest:
    values = {
        "practitioner_npi": "1151056334",
        "mbi": "9J06YC0QA26",
        "service_id": "sacral_nerve_stimulation",
        "packet_id": "pkt-0",
    }
    return OpenRequest(**{**values, **over})


def test_no_open_request_for_the_same_triple_passes(facts: Facts, ref: ReferenceSet) -> None:
    history = History(
        open_requests=(
            open_request(practitioner_npi="1818919288"),
            open_request(mbi="8UJ5MQ8KV74"),
            open_request(service_id="knee_arthroscopy"),
            open_request(packet_id="pkt-1"),  # the packet itself
        )
    )
    assert c.check_duplicate(facts(), history, ref) == []


def test_an_open_request_with_the_same_practitioner_beneficiary_and_service_is_a_duplicate(
    facts: Facts, ref: ReferenceSet
) -> None:
    history = History(open_requests=(open_request(),))
    assert summary(c.check_duplicate(facts(), history, ref)) == [("DUPLICATE_REQUEST", "dismiss", "services")]


def test_a_duplicate_is_found_by_service_not_by_code(facts: Facts, ref: ReferenceSet) -> None:
    packet = facts(services=[{"code": "64561", "units": 1, "date_of_service": "2026-12-15"}])
    assert c.check_duplicate(packet, History(open_requests=(open_request(),)), ref)[0].code == "DUPLICATE_REQUEST"


def test_the_duplicate_check_is_skipped_without_an_appendix_a_service(facts: Facts, ref: ReferenceSet) -> None:
    packet = facts(services=[{"code": "99213", "units": 1, "date_of_service": "2026-12-15"}])
    assert summary(c.check_duplicate(packet, History(), ref)) == [("DUPLICATE_REQUEST", "skipped", "services")]


# ------------------------------------------------------------- Table 1 elements


def test_a_complete_packet_has_every_table_1_element(facts: Facts, ref: ReferenceSet) -> None:
    assert c.check_required_elements(facts(), ref) == []


def test_each_missing_table_1_element_is_its_own_correction(
    packet_json: Callable[..., dict], ref: ReferenceSet
) -> None:
    doc = packet_json(
        review_type="expedited",
        expedited_reason=None,
        diagnosis_codes=[],
        services=[{"code": "64581", "units": None, "date_of_service": "2026-12-15"}],
        facility={"name": "Newark General Hospital", "npi": "1223236740"},
        requester={"name": "Front Desk", "phone": "+12015550101", "fax": None, "email": ""},
    )
    doc["practitioner"]["ptan"] = None
    doc["beneficiary"]["address"] = None
    findings = c.check_required_elements(PacketFacts.from_packet_json(doc), ref)
    assert summary(findings) == [
        ("MISSING_ELEMENT", "correction", "practitioner.ptan"),
        ("MISSING_ELEMENT", "correction", "facility.ccn"),
        ("MISSING_ELEMENT", "correction", "diagnosis_codes"),
        ("MISSING_ELEMENT", "correction", "services[0].units"),
        ("MISSING_ELEMENT", "correction", "requester.fax"),
        ("MISSING_ELEMENT", "correction", "requester.email"),
        ("MISSING_ELEMENT", "correction", "beneficiary.address"),
        ("MISSING_ELEMENT", "correction", "expedited_reason"),
    ]


@pytest.mark.parametrize("pos", ["19", "22", "24"])
def test_a_facility_is_required_for_hospital_outpatient_and_asc(facts: Facts, ref: ReferenceSet, pos: str) -> None:
    findings = c.check_required_elements(facts(place_of_service=pos, facility=None), ref)
    assert summary(findings) == [("MISSING_ELEMENT", "correction", "facility")]


def test_a_facility_ptan_stands_in_for_its_ccn(facts: Facts, ref: ReferenceSet) -> None:
    packet = facts(facility={"name": "Newark General Hospital", "npi": "1223236740", "ptan": "NJ200000"})
    assert c.check_required_elements(packet, ref) == []


@pytest.mark.parametrize("pos", ["11", "12"])
def test_no_facility_is_required_in_an_office_or_at_home(facts: Facts, ref: ReferenceSet, pos: str) -> None:
    assert c.check_required_elements(facts(place_of_service=pos, facility=None), ref) == []


def test_a_missing_requester_is_one_correction(facts: Facts, ref: ReferenceSet) -> None:
    assert summary(c.check_required_elements(facts(requester=None), ref)) == [
        ("MISSING_ELEMENT", "correction", "requester")
    ]


# ---------------------------------------------------------------- documentation


def test_a_packet_with_a_clinical_document_passes(facts: Facts) -> None:
    assert c.check_documentation(facts(document_count=1)) == []


def test_a_packet_without_documents_needs_correction(facts: Facts) -> None:
    assert summary(c.check_documentation(facts(document_count=0))) == [
        ("MISSING_DOCUMENTATION", "correction", "documents")
    ]


# ------------------------------------------------------------- date of service


def dated(facts: Facts, dos: str, state: str = "NJ") -> PacketFacts:
    return facts(state=state, services=[{"code": "64581", "units": 1, "date_of_service": dos}])


def at(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


@pytest.mark.parametrize("dos", ["2026-01-15", "2026-05-01"])
def test_a_date_of_service_from_2026_01_15_and_not_in_the_past_passes(
    facts: Facts, ref: ReferenceSet, dos: str
) -> None:
    assert c.check_date_of_service(dated(facts, dos), ref, at("2026-01-14T18:00:00+00:00")) == []


def test_a_date_of_service_today_in_the_state_passes(facts: Facts, ref: ReferenceSet) -> None:
    assert c.check_date_of_service(dated(facts, "2026-05-01"), ref, at("2026-05-01T23:00:00+00:00")) == []


def test_a_date_of_service_before_2026_01_15_needs_correction(facts: Facts, ref: ReferenceSet) -> None:
    findings = c.check_date_of_service(dated(facts, "2026-01-14"), ref, at("2026-01-10T09:00:00+00:00"))
    assert summary(findings) == [("DOS_INVALID", "correction", "services[0].date_of_service")]
    assert "2026-01-15" in findings[0].message


def test_a_date_of_service_in_the_past_needs_correction(facts: Facts, ref: ReferenceSet) -> None:
    findings = c.check_date_of_service(dated(facts, "2026-04-30"), ref, at("2026-05-01T09:00:00+00:00"))
    assert summary(findings) == [("DOS_INVALID", "correction", "services[0].date_of_service")]
    assert "past" in findings[0].message and "2026-05-01 in NJ" in findings[0].message


@pytest.mark.parametrize(
    ("state", "local_day"),
    [("NJ", "2026-05-01"), ("OH", "2026-05-01"), ("TX", "2026-04-30"), ("OK", "2026-04-30"), ("AZ", "2026-04-30"),
     ("WA", "2026-04-30")],
)  # fmt: skip
def test_today_is_judged_in_the_state_of_services_time_zone(
    facts: Facts, ref: ReferenceSet, state: str, local_day: str
) -> None:
    """04:30 UTC on 1 May is 1 May in New York but still 30 April in Chicago, Phoenix and Seattle."""
    now = at("2026-05-01T04:30:00+00:00")
    assert c.local_today(state, ref, now).isoformat() == local_day
    on_the_30th = c.check_date_of_service(dated(facts, "2026-04-30", state), ref, now)
    assert [f.code for f in on_the_30th] == (["DOS_INVALID"] if local_day == "2026-05-01" else [])


def test_the_date_of_service_is_judged_at_each_run_not_at_receipt(facts: Facts, ref: ReferenceSet) -> None:
    packet = facts(received_at="2026-04-01T12:00:00+00:00", services=[{"code": "64581", "units": 1,
                   "date_of_service": "2026-04-20"}])  # fmt: skip
    assert c.check_date_of_service(packet, ref, at("2026-04-02T12:00:00+00:00")) == []
    assert [f.code for f in c.check_date_of_service(packet, ref, at("2026-04-21T12:00:00+00:00"))] == ["DOS_INVALID"]


# ---------------------------------------------------------------- resubmission

ISSUED = IssuedUtn(utn="JLA26001234567", first_name="Avery", last_name="Quillon", date_of_birth=date(1948, 12, 10))


def resubmission(facts: Facts, utn: str | None = "JLA26001234567") -> PacketFacts:
    return facts(submission_type="resubmission", previous_utn=utn)


def test_an_initial_request_has_nothing_to_match(facts: Facts) -> None:
    assert c.check_resubmission(facts(), History()) == []


def test_a_resubmission_naming_our_utn_with_the_same_name_and_dob_passes(facts: Facts) -> None:
    assert c.check_resubmission(resubmission(facts), History(issued_utns=(ISSUED,))) == []


def test_a_resubmission_naming_a_utn_we_did_not_issue_needs_correction(facts: Facts) -> None:
    findings = c.check_resubmission(resubmission(facts, "JLA26009999999"), History(issued_utns=(ISSUED,)))
    assert summary(findings) == [("RESUBMISSION_MISMATCH", "correction", "previous_utn")]


def test_a_resubmission_without_a_utn_needs_correction(facts: Facts) -> None:
    assert summary(c.check_resubmission(resubmission(facts, None), History())) == [
        ("RESUBMISSION_MISMATCH", "correction", "previous_utn")
    ]


def test_a_resubmission_must_match_the_name_exactly_even_in_case(facts: Facts) -> None:
    earlier = replace(ISSUED, first_name="AVERY", date_of_birth=date(1948, 12, 11))
    findings = c.check_resubmission(resubmission(facts), History(issued_utns=(earlier,)))
    assert summary(findings) == [
        ("RESUBMISSION_MISMATCH", "correction", "beneficiary.first_name"),
        ("RESUBMISSION_MISMATCH", "correction", "beneficiary.date_of_birth"),
    ]
