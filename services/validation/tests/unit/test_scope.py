"""Which service lines are under WISeR: Appendix A codes, state, dates, companions, Appendix B diagnoses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from wiser_validation.domain import PacketFacts, appendix_a_service, scope_of
from wiser_validation.domain.checks import check_service_scope
from wiser_validation.reference import ReferenceSet

Facts = Callable[..., PacketFacts]


def line(code: str, dos: str = "2026-12-15", modifiers: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"code": code, "units": 1, "modifiers": list(modifiers), "date_of_service": dos}


def dismissed(packet: PacketFacts, ref: ReferenceSet) -> bool:
    return any(f.severity == "dismiss" for f in check_service_scope(packet, ref))


def test_a_clean_sacral_nerve_stimulation_request_is_in_scope(facts: Facts, ref: ReferenceSet) -> None:
    assert check_service_scope(facts(), ref) == []


def test_a_code_not_on_appendix_a_is_dismissed_as_non_wiser(facts: Facts, ref: ReferenceSet) -> None:
    findings = check_service_scope(facts(services=[line("99213")]), ref)
    assert [(f.code, f.severity, f.field) for f in findings] == [
        ("NON_WISER_SERVICE", "dismiss", "services"),
        ("NON_WISER_SERVICE", "info", "services[0].code"),
    ]


@pytest.mark.parametrize("state", ["AZ", "WA"])
def test_skin_substitutes_are_not_under_wiser_in_jurisdiction_jf(facts: Facts, ref: ReferenceSet, state: str) -> None:
    packet = facts(state=state, services=[line("15275")], diagnosis_codes=["E11.621"])
    assert dismissed(packet, ref)


@pytest.mark.parametrize("state", ["NJ", "OH", "OK", "TX"])
def test_skin_substitutes_are_under_wiser_outside_jf(facts: Facts, ref: ReferenceSet, state: str) -> None:
    packet = facts(state=state, services=[line("15275")], diagnosis_codes=["E11.621"])
    assert check_service_scope(packet, ref) == []


@pytest.mark.parametrize("code", ["C8007", "C8011"])
def test_hgns_c_codes_are_out_of_scope_before_2026_04_06(facts: Facts, ref: ReferenceSet, code: str) -> None:
    assert dismissed(facts(services=[line(code, "2026-04-05")]), ref)


@pytest.mark.parametrize("code", ["C8007", "C8011"])
def test_hgns_c_codes_are_in_scope_from_2026_04_06(facts: Facts, ref: ReferenceSet, code: str) -> None:
    assert check_service_scope(facts(services=[line(code, "2026-04-06")]), ref) == []


def test_64561_alone_is_not_under_wiser(facts: Facts, ref: ReferenceSet) -> None:
    findings = check_service_scope(facts(services=[line("64561")]), ref)
    assert findings[0].severity == "dismiss"
    assert "64590" in findings[1].message


def test_64561_with_64590_is_under_wiser(facts: Facts, ref: ReferenceSet) -> None:
    packet = facts(services=[line("64561"), line("64590")])
    verdicts = scope_of(packet, ref)
    assert [(v.code, v.in_scope, v.service_id) for v in verdicts] == [
        ("64561", True, "sacral_nerve_stimulation"),
        ("64590", False, None),
    ]
    findings = check_service_scope(packet, ref)
    assert [(f.severity, f.field) for f in findings] == [("info", "services[1].code")]


def test_64590_alone_is_an_associated_code_not_authorised_separately(facts: Facts, ref: ReferenceSet) -> None:
    assert dismissed(facts(services=[line("64590")]), ref)


def test_64568_with_g47_33_is_not_under_wiser(facts: Facts, ref: ReferenceSet) -> None:
    packet = facts(services=[line("64568")], diagnosis_codes=["G40.011", "G47.33"])
    assert dismissed(packet, ref)


def test_64568_with_an_appendix_b_epilepsy_diagnosis_is_under_wiser(facts: Facts, ref: ReferenceSet) -> None:
    assert check_service_scope(facts(services=[line("64568")], diagnosis_codes=["G40.011"]), ref) == []


def test_vns_without_an_appendix_b_diagnosis_is_not_under_wiser(facts: Facts, ref: ReferenceSet) -> None:
    assert dismissed(facts(services=[line("64568")], diagnosis_codes=["G40.909"]), ref)


@pytest.mark.parametrize("code", ["63650", "22551", "22552"])
def test_codes_of_another_cms_program_are_not_under_wiser(facts: Facts, ref: ReferenceSet, code: str) -> None:
    findings = check_service_scope(facts(services=[line(code)]), ref)
    assert findings[0].severity == "dismiss"
    assert "another CMS program" in findings[1].message


def test_sns_64581_without_an_appendix_b_diagnosis_is_not_under_wiser(facts: Facts, ref: ReferenceSet) -> None:
    findings = check_service_scope(facts(diagnosis_codes=["N39.3"]), ref)
    assert findings[0].code == "NON_WISER_SERVICE" and findings[0].severity == "dismiss"
    assert "Appendix B" in findings[1].message


def test_diagnoses_match_without_their_dot(facts: Facts, ref: ReferenceSet) -> None:
    assert check_service_scope(facts(diagnosis_codes=["n3941"]), ref) == []


def test_an_emergency_line_is_not_under_wiser(facts: Facts, ref: ReferenceSet) -> None:
    assert dismissed(facts(services=[line("64581", modifiers=("ET",))]), ref)


def test_one_line_in_scope_is_enough_and_the_others_are_noted(facts: Facts, ref: ReferenceSet) -> None:
    findings = check_service_scope(facts(services=[line("99213"), line("64581")]), ref)
    assert [(f.severity, f.field) for f in findings] == [("info", "services[0].code")]


def test_two_appendix_a_services_on_one_request_are_noted(facts: Facts, ref: ReferenceSet) -> None:
    findings = check_service_scope(facts(services=[line("64581"), line("29877")]), ref)
    assert [(f.code, f.severity) for f in findings] == [("MULTIPLE_SERVICES", "info")]


@pytest.mark.parametrize(
    ("code", "service"),
    [
        ("64581", "sacral_nerve_stimulation"),
        ("64561", "sacral_nerve_stimulation"),
        ("C8007", "hypoglossal_nerve_stimulation"),
        ("22513", "vertebral_augmentation"),
        ("15278", "skin_substitutes"),
        ("64590", None),
        ("22551", None),
        ("99213", None),
    ],
)
def test_a_code_belongs_to_its_appendix_a_service(ref: ReferenceSet, code: str, service: str | None) -> None:
    assert appendix_a_service(code, ref) == service
