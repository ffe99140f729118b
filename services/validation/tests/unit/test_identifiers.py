"""MBI pattern and NPI check digit (DOMAIN.md, Identifiers)."""

from __future__ import annotations

from typing import Any

import pytest

from wiser_validation.domain import mbi_is_well_formed, npi_check_digit, npi_is_well_formed


def test_every_fixture_npi_has_a_valid_check_digit(fixtures: dict[str, Any]) -> None:
    npis = [p["npi"] for p in fixtures["providers"]["practitioners"] + fixtures["providers"]["facilities"]]
    assert len(npis) == 20  # 14 practitioners (a PA in OH and a chiropractor in NJ among them), 6 facilities
    assert all(npi_is_well_formed(npi) for npi in npis)


def test_the_cms_example_npi_checks_out() -> None:
    assert npi_check_digit("123456789") == 3
    assert npi_is_well_formed("1234567893")


@pytest.mark.parametrize("npi", ["1151056335", "1151056343", "1511056334", "115105633", "11510563340", "115105633X"])
def test_a_corrupted_npi_fails_the_check_digit(npi: str) -> None:
    assert not npi_is_well_formed(npi)


def test_every_fixture_mbi_is_well_formed(fixtures: dict[str, Any]) -> None:
    mbis = [b["mbi"] for b in fixtures["beneficiaries"]]
    assert len(mbis) == 20
    assert all(mbi_is_well_formed(mbi) for mbi in mbis)


@pytest.mark.parametrize(
    "mbi",
    [
        "9J06-YC0-QA26",  # dashes
        "9j06yc0qa26",  # lowercase
        "9S06YC0QA26",  # S is never used
        "9J06YC0QS26",  # S in a letter-only position
        "0J06YC0QA26",  # first character must be 1-9
        "9J06YC0QA2",  # too short
        "9J06YC0QA261",  # too long
        "9106YC0QA26",  # position 2 must be a letter
        "",
    ],
)
def test_a_malformed_mbi_is_refused(mbi: str) -> None:
    assert not mbi_is_well_formed(mbi)


def test_changing_any_one_digit_of_a_fixture_npi_breaks_its_check_digit(fixtures: dict[str, Any]) -> None:
    npis = [p["npi"] for p in fixtures["providers"]["practitioners"] + fixtures["providers"]["facilities"]]
    for npi in npis:
        for position in range(10):
            for shift in range(1, 10):
                changed = npi[:position] + str((int(npi[position]) + shift) % 10) + npi[position + 1 :]
                assert not npi_is_well_formed(changed), changed
