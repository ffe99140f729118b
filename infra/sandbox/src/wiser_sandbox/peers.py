"""NPPES NPI Registry (API v2.1 JSON), PECOS enrollment and the MAC's UTN: pure readings of the fixtures."""

from __future__ import annotations

import hashlib
from typing import Any

from .fixtures import Fixtures, Record

# NPPES taxonomy per fixture provider type / facility place of service (the fixtures carry no taxonomy).
PRACTITIONER_TAXONOMY = {
    "MD": ("208D00000X", "General Practice"),
    "DO": ("208D00000X", "General Practice"),
    "DPM": ("213E00000X", "Podiatrist"),
    "NP": ("363L00000X", "Nurse Practitioner"),
    "PA": ("363A00000X", "Physician Assistant"),
    "CNS": ("364S00000X", "Clinical Nurse Specialist"),
    "DC": ("111N00000X", "Chiropractor"),
}
FACILITY_TAXONOMY = {
    "19": ("282N00000X", "General Acute Care Hospital"),
    "22": ("282N00000X", "General Acute Care Hospital"),
    "24": ("261QA1903X", "Clinic/Center, Ambulatory Surgical"),
}
FACILITY_TYPE = {"19": "HOSPITAL", "22": "HOSPITAL", "24": "AMBULATORY SURGICAL CENTER"}
DEACTIVATION_DATE = "2025-01-01"  # used when a deactivated fixture has no nppes_deactivation_date

# MAC jurisdiction of each WISeR state: positions 1-2 of the UTN.
JURISDICTIONS = {"NJ": "JL", "OH": "15", "OK": "JH", "TX": "JH", "AZ": "JF", "WA": "JF"}
UTN_TYPE = "A"  # position 3: the sandbox always issues "A"


def _error(description: str, field: str, number: str) -> dict[str, Any]:
    return {"Errors": [{"description": description, "field": field, "number": number}]}


def _taxonomy(mapping: dict[str, tuple[str, str]], key: str, state: str) -> list[dict[str, Any]]:
    if key not in mapping:
        return []
    code, desc = mapping[key]
    return [{"code": code, "taxonomy_group": "", "desc": desc, "state": state, "license": None, "primary": True}]


def _nppes_result(fx: Fixtures, npi: str) -> dict[str, Any] | None:
    record: Record | None = fx.practitioners.get(npi) or fx.facilities.get(npi)
    if record is None:
        return None
    practitioner = npi in fx.practitioners
    basic: dict[str, Any]
    if practitioner:
        basic = {
            "first_name": record["first_name"].upper(),
            "last_name": record["last_name"].upper(),
            "credential": record["provider_type"],
        }
        taxonomies = _taxonomy(PRACTITIONER_TAXONOMY, record["provider_type"], record["state"])
    else:
        basic = {"organization_name": record["name"].upper()}
        taxonomies = _taxonomy(FACILITY_TAXONOMY, record.get("place_of_service", ""), record["state"])
    if record.get("nppes") == "deactivated":
        basic |= {"status": "D", "deactivation_date": record.get("nppes_deactivation_date", DEACTIVATION_DATE)}
    else:
        basic["status"] = "A"
    return {
        "number": npi,
        "enumeration_type": "NPI-1" if practitioner else "NPI-2",
        "basic": basic,
        "addresses": [
            {
                "country_code": "US",
                "country_name": "United States",
                "address_purpose": "LOCATION",
                "address_type": "DOM",
                "state": record["state"],
            }
        ],
        "taxonomies": taxonomies,
        "identifiers": [],
        "other_names": [],
        "endpoints": [],
        "practiceLocations": [],
    }


def nppes(fx: Fixtures, version: str | None, number: str | None) -> dict[str, Any]:
    """The NPI Registry answer to ``?version=...&number=...`` (errors come back as 200 with ``Errors``)."""
    if version != "2.1":
        return _error("Unsupported or missing version: this API requires version=2.1", "version", "01")
    if not number:
        return _error("No valid search criteria provided", "generic", "04")
    if not (number.isdigit() and len(number) == 10):
        return _error("Field number requires 10 digits", "number", "02")
    result = _nppes_result(fx, number)
    return {"result_count": 1, "results": [result]} if result else {"result_count": 0, "results": []}


def pecos(fx: Fixtures, npi: str) -> dict[str, Any] | None:
    """The PECOS enrollment of a known practitioner or facility; None for an NPI PECOS has never seen."""
    if npi in fx.practitioners:
        p = fx.practitioners[npi]
        enrolled = p.get("pecos") == "enrolled"
        return {
            "npi": npi,
            "enrolled": enrolled,
            "status": "APPROVED" if enrolled else "NOT_ENROLLED",
            "enrollment_type": "PRACTITIONER",
            "provider_type": p["provider_type"],
            "first_name": p["first_name"].upper(),
            "last_name": p["last_name"].upper(),
            "state": p["state"],
            "ptan": p.get("ptan") if enrolled else None,
        }
    if npi in fx.facilities:
        f = fx.facilities[npi]
        enrolled = f.get("pecos") == "enrolled"
        return {
            "npi": npi,
            "enrolled": enrolled,
            "status": "APPROVED" if enrolled else "NOT_ENROLLED",
            "enrollment_type": "FACILITY",
            "provider_type": FACILITY_TYPE.get(f.get("place_of_service", ""), "FACILITY"),
            "organization_name": f["name"].upper(),
            "state": f["state"],
            "ccn": f.get("ccn"),
        }
    return None


def utn(packet_id: str, state: str, year: int) -> str:
    """A 14-character UTN: jurisdiction (2), ``A``, 2-digit year, 9 digits derived from the packet id."""
    sequence = int.from_bytes(hashlib.sha256(packet_id.encode()).digest()[:8], "big") % 1_000_000_000
    return f"{JURISDICTIONS[state]}{UTN_TYPE}{year % 100:02d}{sequence:09d}"
