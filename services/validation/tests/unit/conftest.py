"""Builders for validation's unit tests: a clean packet, peers that agree with it, today's reference data."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from wiser_servicekit.fixtures import fixtures_dir
from wiser_validation.domain import Eligibility, Enrollment, History, NpiRecord, PacketFacts
from wiser_validation.reference import ReferenceSet, load_reference

FIXTURES = fixtures_dir()
TODAY = date(2026, 5, 1)

CLEAN_PACKET: dict[str, Any] = {
    "packet_id": "pkt-1",
    "document_count": 2,
    "received_at": "2026-05-01T14:30:00+00:00",
    "external_ref": "EHR-12345",
    "submission_type": "initial",
    "previous_utn": None,
    "review_type": "standard",
    "expedited_reason": None,
    "state": "NJ",
    "place_of_service": "22",
    "type_of_bill": "131",
    "beneficiary": {
        "mbi": "9J06YC0QA26",
        "first_name": "Avery",
        "last_name": "Quillon",
        "date_of_birth": "1948-12-10",
        "gender": "F",
        "address": {"line1": "1 Main St", "city": "Newark", "state": "NJ", "zip": "07102"},
    },
    "practitioner": {
        "npi": "1151056334",
        "ptan": "NJ100000",
        "first_name": "Ursula",
        "last_name": "Brightwater",
        "fax": "+12015550100",
        "email": "office@example.org",
        "address": {"line1": "2 Elm St", "city": "Newark", "state": "NJ", "zip": "07102"},
    },
    "facility": {"name": "Newark General Hospital", "npi": "1223236740", "ccn": "311000"},
    "requester": {"name": "Front Desk", "phone": "+12015550101", "fax": "+12015550100", "email": "pa@example.org"},
    "services": [{"code": "64581", "units": 1, "modifiers": [], "date_of_service": "2026-12-15"}],
    "diagnosis_codes": ["N39.41"],
}


@pytest.fixture(scope="session")
def ref() -> ReferenceSet:
    return load_reference(TODAY)


@pytest.fixture(scope="session")
def fixtures() -> dict[str, Any]:
    return {
        "beneficiaries": json.loads((FIXTURES / "beneficiaries.json").read_text())["beneficiaries"],
        "providers": json.loads((FIXTURES / "providers.json").read_text()),
    }


@pytest.fixture
def packet_json() -> Callable[..., dict[str, Any]]:
    """A clean packet as intake stores it; keyword arguments replace top-level keys."""

    def build(**over: Any) -> dict[str, Any]:
        doc = copy.deepcopy(CLEAN_PACKET)
        doc.update(copy.deepcopy(over))
        return doc

    return build


@pytest.fixture
def facts(packet_json: Callable[..., dict[str, Any]]) -> Callable[..., PacketFacts]:
    """PacketFacts of a clean packet; keyword arguments replace top-level keys of its JSON."""

    def build(**over: Any) -> PacketFacts:
        return PacketFacts.from_packet_json(packet_json(**over))

    return build


@pytest.fixture
def eligible() -> Eligibility:
    return Eligibility(
        status="found",
        first_name="Avery",
        last_name="Quillon",
        date_of_birth=date(1948, 12, 10),
        part_a_active_on_dos=True,
        part_b_active_on_dos=True,
    )


@pytest.fixture
def active_npis() -> dict[str, NpiRecord]:
    return {
        "1151056334": NpiRecord(npi="1151056334", status="active", state="NJ"),
        "1223236740": NpiRecord(npi="1223236740", status="active", state="NJ"),
    }


@pytest.fixture
def enrolled() -> Enrollment:
    return Enrollment(npi="1151056334", status="enrolled", provider_type="MD", state="NJ")


@pytest.fixture
def no_history() -> History:
    return History()
