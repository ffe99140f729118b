"""Reference data validation decides with, as versioned JSON files with effective dates.

Each file is `{"source": ..., "versions": [{"effective": "YYYY-MM-DD", ...payload}]}`. For a given day the
version in force is the latest whose effective date is on or before that day, so CMS's next list is a new
version in a file, never a code change.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

DEFAULT_DIRECTORY = Path(__file__).parent

FILES = (
    "states",
    "program",
    "services",
    "diagnoses",
    "scope_rules",
    "dismissal_reasons",
    "exemptions",
    "provider_types",
)


@dataclass(frozen=True)
class ServedState:
    """One of the six WISeR states (whether this deployment serves it is a setting, not reference data)."""

    state: str
    mac_jurisdiction: str
    mac: str
    time_zone: str | None = None  # IANA zone in which "today" is judged for its dates of service


@dataclass(frozen=True)
class ServiceCode:
    code: str
    dos_from: date | None = None
    dos_until: date | None = None
    note: str | None = None

    def covers(self, dos: date) -> bool:
        """Say whether this code is on the list for a service on `dos`."""
        return (self.dos_from is None or dos >= self.dos_from) and (self.dos_until is None or dos <= self.dos_until)


@dataclass(frozen=True)
class Service:
    """One Appendix A service."""

    id: str
    number: int
    name: str
    coverage: tuple[str, ...]
    codes: tuple[ServiceCode, ...]
    excluded_states: frozenset[str] = frozenset()
    diagnosis_list: str | None = None


@dataclass(frozen=True)
class DiagnosisList:
    """An Appendix B list: explicit codes plus inclusive ranges of same-length codes."""

    codes: frozenset[str]
    ranges: tuple[tuple[str, str], ...] = ()

    def contains(self, dx: str) -> bool:
        """Say whether ICD-10 code `dx` (any case, with or without its dot) is on the list."""
        code = normalize_icd10(dx)
        if code in self.codes:
            return True
        return any(len(code) == len(low) == len(high) and low <= code <= high for low, high in self.ranges)


@dataclass(frozen=True)
class CompanionRule:
    code: str
    with_any: frozenset[str]
    reason: str


@dataclass(frozen=True)
class DiagnosisExclusion:
    code: str
    diagnoses: frozenset[str]
    reason: str


@dataclass(frozen=True)
class ScopeRules:
    other_program_codes: frozenset[str]
    other_program_reason: str
    associated_codes: frozenset[str]
    associated_reason: str
    requires_companion: tuple[CompanionRule, ...]
    excluded_with_diagnosis: tuple[DiagnosisExclusion, ...]
    excluded_modifiers: frozenset[str]
    excluded_modifiers_reason: str
    excluded_places_of_service: Mapping[str, str] = field(default_factory=dict)  # POS -> what it is
    excluded_places_of_service_reason: str = ""


@dataclass(frozen=True)
class DismissalText:
    code: str
    reason: str
    action: str


@dataclass(frozen=True)
class ReferenceSet:
    """Every reference list in force on one day."""

    on: date
    states: Mapping[str, ServedState]  # the six WISeR states ("practising in a WISeR state")
    services: tuple[Service, ...]
    diagnosis_lists: Mapping[str, DiagnosisList]
    scope: ScopeRules
    dismissal_reasons: Mapping[str, DismissalText]
    exempt_npis: frozenset[str]
    eligible_provider_types: frozenset[str]
    earliest_date_of_service: date
    facility_places_of_service: frozenset[str]
    versions: tuple[tuple[str, str], ...] = field(default=())

    def service_of(self, code: str) -> Service | None:
        """The Appendix A service listing `code`, if any."""
        wanted = code.strip().upper()
        for service in self.services:
            if any(c.code == wanted for c in service.codes):
                return service
        return None


def normalize_icd10(dx: str) -> str:
    """Uppercase an ICD-10 code and put its dot after the category (`n3941` -> `N39.41`)."""
    code = dx.strip().upper()
    if "." not in code and len(code) > 3:
        code = f"{code[:3]}.{code[3:]}"
    return code


def _read(directory: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))
    return data


def _in_force(data: dict[str, Any], name: str, on: date) -> dict[str, Any]:
    eligible = [v for v in data["versions"] if date.fromisoformat(v["effective"]) <= on]
    if not eligible:
        raise LookupError(f"no version of reference {name!r} in force on {on.isoformat()}")
    return max(eligible, key=lambda v: date.fromisoformat(v["effective"]))


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _services(payload: dict[str, Any]) -> tuple[Service, ...]:
    return tuple(
        Service(
            id=s["id"],
            number=s["number"],
            name=s["name"],
            coverage=tuple(s.get("coverage", ())),
            codes=tuple(
                ServiceCode(
                    code=c["code"], dos_from=_date(c.get("dos_from")), dos_until=_date(c.get("dos_until")),
                    note=c.get("note"),
                )
                for c in s["codes"]
            ),
            excluded_states=frozenset(s.get("excluded_states", ())),
            diagnosis_list=s.get("diagnosis_list"),
        )
        for s in payload["services"]
    )  # fmt: skip


def _diagnosis_lists(payload: dict[str, Any]) -> dict[str, DiagnosisList]:
    return {
        name: DiagnosisList(
            codes=frozenset(normalize_icd10(c) for c in body.get("codes", ())),
            ranges=tuple((normalize_icd10(r["from"]), normalize_icd10(r["to"])) for r in body.get("ranges", ())),
        )
        for name, body in payload["lists"].items()
    }


def _scope(payload: dict[str, Any]) -> ScopeRules:
    return ScopeRules(
        other_program_codes=frozenset(payload["other_program_codes"]["codes"]),
        other_program_reason=payload["other_program_codes"]["reason"],
        associated_codes=frozenset(payload["associated_codes"]["codes"]),
        associated_reason=payload["associated_codes"]["reason"],
        requires_companion=tuple(
            CompanionRule(code=r["code"], with_any=frozenset(r["with_any"]), reason=r["reason"])
            for r in payload.get("requires_companion", ())
        ),
        excluded_with_diagnosis=tuple(
            DiagnosisExclusion(
                code=r["code"], diagnoses=frozenset(normalize_icd10(d) for d in r["diagnoses"]), reason=r["reason"]
            )
            for r in payload.get("excluded_with_diagnosis", ())
        ),
        excluded_modifiers=frozenset(payload.get("excluded_modifiers", {}).get("modifiers", ())),
        excluded_modifiers_reason=payload.get("excluded_modifiers", {}).get("reason", ""),
        excluded_places_of_service=dict(payload.get("excluded_places_of_service", {}).get("places", {})),
        excluded_places_of_service_reason=payload.get("excluded_places_of_service", {}).get("reason", ""),
    )


def read_documents(directory: Path | None = None) -> dict[str, dict[str, Any]]:
    """Every reference file as `{name: {"source", "versions": [...]}}` (the packaged files by default)."""
    folder = directory or DEFAULT_DIRECTORY
    return {name: _read(folder, name) for name in FILES}


def load_reference(on: date, directory: Path | None = None) -> ReferenceSet:
    """Load every reference list in force on `on` from `directory` (the packaged files by default)."""
    return build_reference(read_documents(directory), on)


def build_reference(documents: Mapping[str, dict[str, Any]], on: date) -> ReferenceSet:
    """The reference set in force on `on`, from documents shaped like the files (e.g. read back from a table)."""
    chosen = {name: _in_force(documents[name], name, on) for name in FILES}
    program = chosen["program"]
    return ReferenceSet(
        on=on,
        states={
            s["state"]: ServedState(
                state=s["state"], mac_jurisdiction=s["mac_jurisdiction"], mac=s["mac"], time_zone=s.get("time_zone")
            )
            for s in chosen["states"]["states"]
        },
        services=_services(chosen["services"]),
        diagnosis_lists=_diagnosis_lists(chosen["diagnoses"]),
        scope=_scope(chosen["scope_rules"]),
        dismissal_reasons={
            r["code"]: DismissalText(code=r["code"], reason=r["reason"], action=r["action"])
            for r in chosen["dismissal_reasons"]["reasons"]
        },
        exempt_npis=frozenset(chosen["exemptions"]["npis"]),
        eligible_provider_types=frozenset(chosen["provider_types"]["eligible"]),
        earliest_date_of_service=date.fromisoformat(program["earliest_date_of_service"]),
        facility_places_of_service=frozenset(program["facility_places_of_service"]),
        versions=tuple((name, chosen[name]["effective"]) for name in FILES),
    )


def reference_versions(directory: Path | None = None, on: date | None = None) -> list[dict[str, Any]]:
    """Describe each reference file: its source, every version, and the one in force on `on` (else the latest)."""
    folder = directory or DEFAULT_DIRECTORY
    described = []
    for name in FILES:
        data = _read(folder, name)
        effective = sorted(v["effective"] for v in data["versions"])
        if on is None:
            in_force: str | None = effective[-1] if effective else None
        else:
            past = [e for e in effective if date.fromisoformat(e) <= on]
            in_force = past[-1] if past else None
        described.append({"name": name, "source": data.get("source", ""), "effective": in_force, "versions": effective})
    return described
