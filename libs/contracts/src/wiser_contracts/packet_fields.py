"""The fields of a packet ops may correct (T5), as dotted paths into the partner API's packet, in one place.

The label is what the manual-review form calls a field it offers as a single text box; fields without one
(structured parts, and scalars the form does not offer yet) are corrected through intake's ops API.
"""

from __future__ import annotations

CORRECTABLE: dict[str, str | None] = {
    "beneficiary.mbi": "MBI",
    "beneficiary.first_name": "Beneficiary first name",
    "beneficiary.last_name": "Beneficiary last name",
    "beneficiary.date_of_birth": "Date of birth",
    "beneficiary.gender": None,
    "beneficiary.address": None,
    "practitioner.npi": "Practitioner NPI",
    "practitioner.ptan": "Practitioner PTAN",
    "practitioner.first_name": "Practitioner first name",
    "practitioner.last_name": "Practitioner last name",
    "practitioner.fax": None,
    "practitioner.email": None,
    "practitioner.phone": None,
    "practitioner.address": None,
    "facility": None,
    "facility.name": None,
    "facility.npi": "Facility NPI",
    "facility.ccn": "Facility CCN",
    "facility.ptan": None,
    "requester": None,
    "requester.name": None,
    "requester.phone": "Requester phone",
    "requester.fax": "Requester fax",
    "requester.email": "Requester email",
    "state": "State of service",
    "place_of_service": "Place of service",
    "type_of_bill": "Type of bill",
    "expedited_reason": "Expedited reason",
    "previous_utn": None,
    "services": None,
    "diagnosis_codes": None,
}

# The manual-review form's fields, in the order it shows them.
_FORM_ORDER = (
    "beneficiary.mbi",
    "beneficiary.first_name",
    "beneficiary.last_name",
    "beneficiary.date_of_birth",
    "practitioner.npi",
    "practitioner.ptan",
    "practitioner.first_name",
    "practitioner.last_name",
    "facility.npi",
    "facility.ccn",
    "state",
    "place_of_service",
    "type_of_bill",
    "requester.phone",
    "requester.fax",
    "requester.email",
    "expedited_reason",
)
ON_THE_FORM: tuple[tuple[str, str], ...] = tuple((path, CORRECTABLE[path] or path) for path in _FORM_ORDER)
assert {p for p, label in CORRECTABLE.items() if label} == set(_FORM_ORDER)
