"""Synthetic packets and determinations for letters' tests (the shared fixtures' identities)."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from wiser_letters.domain.model import Address, Contact, Dismissal

PACKET: dict[str, Any] = {
    "packet_id": "5b0d3c57-6f0e-4b0c-9a43-2f1f5e0f7a11",
    "tracking_number": "WSR-2026-000123",
    "state": "determined",
    "review_type": "standard",
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
        "address": {"line1": "2 Elm St", "city": "Newark", "state": "NJ", "zip": "07102"},
    },
    "facility": {"name": "Newark General Hospital", "npi": "1223236740", "ccn": "311000"},
    "requester": {"name": "Front Desk", "phone": "+12015550101", "fax": "+12015550100"},
    "services": [
        {"code": "64581", "units": 1, "modifiers": [], "date_of_service": "2026-12-15"},
        {"code": "64590", "units": 1, "modifiers": [], "date_of_service": "2026-12-15"},
    ],
    "determination": None,
    "dismissal": None,
}

CONTACT = Contact(
    organisation="Garden State Review Partners",
    address=Address(line1="100 Review Way", city="Trenton", state="NJ", zip="08608"),
    phone="1-800-555-0142",
    fax="1-800-555-0143",
    hours="Monday to Friday, 8 a.m. to 6 p.m. Eastern",
    website="www.example.org/wiser",
)
DESCRIPTIONS = {"64581": "Sacral nerve stimulation", "64590": "Sacral nerve stimulation"}
LETTER_DATE = date(2026, 11, 23)
UTN = "JLA26001234567"
PTP = {
    "phone": "1-800-555-0150",
    "hours": "weekdays 9 a.m. to 5 p.m. Eastern",
    "how": "Ask for the medical director on call and name the UTN.",
}

UNMET = [
    {
        "criterion_id": "SNS-2",
        "criterion": "Urge incontinence for at least 12 months",
        "policy": "LCD L39543",
        "reason": "The records show symptoms for 4 months only",
        "resubmission": "Office notes showing 12 months of symptoms",
    },
    {
        "criterion_id": "SNS-3",
        "criterion": "Failure of conservative treatment",
        "policy": "LCD L39543",
        "reason": "No trial of behavioral therapy or medication is documented",
        "resubmission": "Records of the behavioral therapy and drug trials and their results",
    },
]


def determination(outcome: str, *, lines: int = 2, criteria: int = 2) -> dict[str, Any]:
    codes = ["64581", "64590"][:lines]
    out_lines = []
    for i, code in enumerate(codes):
        line_outcome = outcome
        if outcome == "partially_affirmed":
            line_outcome = "affirmed" if i == 0 else "non_affirmed"
        out_lines.append(
            {
                "code": code,
                "description": "Sacral nerve stimulation, implantation of neurostimulator electrode"
                if i == 0
                else "Sacral nerve stimulation, insertion of pulse generator",
                "units": 1,
                "outcome": line_outcome,
                "unmet": copy.deepcopy(UNMET[:criteria]) if line_outcome == "non_affirmed" else [],
            }
        )
    return {
        "packet_id": PACKET["packet_id"],
        "outcome": outcome,
        "decided_by": "u-md-1",
        "decided_by_role": "medical_director",
        "decided_at": "2026-11-22T15:00:00+00:00",
        "rationale": "criteria reviewed",
        "utn": UTN,
        "lines": out_lines,
        "peer_to_peer": PTP,
    }


def dismissed_packet() -> dict[str, Any]:
    p = copy.deepcopy(PACKET)
    p["determination"] = {"outcome": "dismissed", "decided_at": "2026-11-22T15:00:00+00:00", "lines": []}
    p["dismissal"] = {"code": "INVALID_BILLING_INFO", "reason": "PTAN, NPI or type of bill invalid or missing"}
    return p


DISMISSAL = Dismissal(
    code="INVALID_BILLING_INFO",
    reason="PTAN, NPI or type of bill invalid or missing",
    corrective_action="Verify and resubmit",
)
