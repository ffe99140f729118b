"""Reference data: versioned files, the version in force, Appendix B ranges."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from wiser_validation.domain import History, run_checks
from wiser_validation.reference import DEFAULT_DIRECTORY, FILES, ReferenceSet, load_reference, reference_versions

NOW = datetime(2026, 5, 1, 14, 30, tzinfo=UTC)  # the run's moment: 2026-05-01 in every WISeR state


def test_every_reference_file_has_a_source_and_dated_versions() -> None:
    for name in FILES:
        data = json.loads((DEFAULT_DIRECTORY / f"{name}.json").read_text())
        assert data["source"]
        assert data["versions"]
        for version in data["versions"]:
            date.fromisoformat(version["effective"])


def test_the_six_wiser_states_are_served_with_their_macs(ref: ReferenceSet) -> None:
    assert {s: (v.mac_jurisdiction, v.mac) for s, v in ref.states.items()} == {
        "NJ": ("JL", "Novitas Solutions"),
        "OH": ("J15", "CGS Administrators"),
        "OK": ("JH", "Novitas Solutions"),
        "TX": ("JH", "Novitas Solutions"),
        "AZ": ("JF", "Noridian"),
        "WA": ("JF", "Noridian"),
    }


def test_appendix_a_lists_thirteen_services_with_ranges_expanded(ref: ReferenceSet) -> None:
    assert [s.number for s in ref.services] == list(range(1, 14))
    codes = {c.code for s in ref.services for c in s.codes}
    assert {"22510", "22511", "22512", "22513", "22514", "22515"} <= codes
    assert {f"1527{i}" for i in range(1, 9)} <= codes
    assert "15270" not in codes and "15279" not in codes and "22516" not in codes
    assert len(codes) == 41


def test_the_exemption_list_holds_the_gold_card_fixture_providers(ref: ReferenceSet, fixtures: dict[str, Any]) -> None:
    exempt = {p["npi"] for p in fixtures["providers"]["practitioners"] if p["gold_card_exempt"]}
    assert ref.exempt_npis == exempt


def test_every_dismissal_code_has_a_reason_and_an_action(ref: ReferenceSet) -> None:
    assert len(ref.dismissal_reasons) == 8
    assert all(r.reason and r.action for r in ref.dismissal_reasons.values())


@pytest.mark.parametrize(
    ("dx", "listed"),
    [
        ("I83.011", True),
        ("I83.019", True),
        ("I83.028", True),
        ("i83028", True),
        ("I83.029", False),
        ("I83.01", False),
        ("I83.211", True),
        ("I83.229", False),
        ("I87.011", True),
        ("I87.033", True),
        ("I87.039", False),
        ("I87.311", True),
        ("I87.333", True),
        ("I87.339", False),
        ("I87.2", False),
        ("E11.621", True),
        ("E11.622", False),
        ("L97.419", False),
    ],
)
def test_skin_substitute_diagnoses_follow_appendix_b_exactly(ref: ReferenceSet, dx: str, listed: bool) -> None:
    assert ref.diagnosis_lists["skin_substitutes"].contains(dx) is listed


def test_no_version_in_force_before_the_first_effective_date_is_an_error() -> None:
    with pytest.raises(LookupError):
        load_reference(date(2025, 12, 31))


def test_a_new_version_with_a_later_effective_date_changes_behaviour_without_code_changes(
    tmp_path: Path, facts: Any, eligible: Any, active_npis: Any, enrolled: Any
) -> None:
    folder = tmp_path / "reference"
    shutil.copytree(DEFAULT_DIRECTORY, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    states_file = folder / "states.json"
    data = json.loads(states_file.read_text())
    newer = json.loads(json.dumps(data["versions"][-1]))
    newer["effective"] = "2027-01-01"
    newer["states"].append({"state": "NY", "mac_jurisdiction": "JK", "mac": "National Government Services"})
    data["versions"].append(newer)
    states_file.write_text(json.dumps(data))
    exemptions_file = folder / "exemptions.json"
    data = json.loads(exemptions_file.read_text())
    data["versions"].append({"effective": "2027-01-01", "npis": ["1151056334"]})
    exemptions_file.write_text(json.dumps(data))

    before, after = load_reference(date(2026, 12, 31), folder), load_reference(date(2027, 1, 1), folder)

    assert "NY" not in before.states and "NY" in after.states
    packet = facts(state="NY")
    codes_before = {f.code for f in run_checks(packet, eligible, active_npis, enrolled, History(), before, now=NOW)}
    codes_after = {f.code for f in run_checks(packet, eligible, active_npis, enrolled, History(), after, now=NOW)}
    assert "WRONG_JURISDICTION" in codes_before and "WRONG_JURISDICTION" not in codes_after
    assert "EXEMPT_PROVIDER" not in codes_before and "EXEMPT_PROVIDER" in codes_after
    assert dict(after.versions)["states"] == "2027-01-01"
    assert dict(after.versions)["services"] == "2026-01-01"


def test_reference_versions_describe_each_file_and_the_version_in_force(tmp_path: Path) -> None:
    folder = tmp_path / "reference"
    shutil.copytree(DEFAULT_DIRECTORY, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    data = json.loads((folder / "program.json").read_text())
    data["versions"].append({**data["versions"][0], "effective": "2027-01-01"})
    (folder / "program.json").write_text(json.dumps(data))

    described = {d["name"]: d for d in reference_versions(folder, on=date(2026, 6, 1))}

    assert set(described) == set(FILES)
    assert described["program"]["effective"] == "2026-01-01"
    assert described["program"]["versions"] == ["2026-01-01", "2027-01-01"]
    assert described["services"]["source"].startswith("WISeR Model")
    assert {d["name"]: d["effective"] for d in reference_versions(folder)}["program"] == "2027-01-01"
