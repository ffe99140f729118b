"""The partner packet (PARTNER_API.md): well-formedness only.

A malformed packet is refused at the door (422). Facts (an unknown MBI, a
service not under WISeR, a bad NPI check digit, a missing Table 1 element)
are for validation to decide, so those fields are only type-checked here.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, model_validator

from wiser_contracts import packet_fields

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
OptText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None
StateCode = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Z]{2}$")]
Code = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Z0-9]{5}$")]
Dx = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$")
]
Ident = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Address(Strict):
    line1: Text
    line2: OptText = None
    city: Text
    state: StateCode
    zip: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{5}(-\d{4})?$")]


class Beneficiary(Strict):
    mbi: Ident
    first_name: Text
    last_name: Text
    date_of_birth: date
    gender: Literal["F", "M", "U", "X"] | None = None
    address: Address | None = None


class Practitioner(Strict):
    npi: Ident
    ptan: OptText = None
    first_name: Text
    last_name: Text
    fax: OptText = None
    email: OptText = None
    phone: OptText = None
    address: Address | None = None


class Facility(Strict):
    name: Text
    npi: OptText = None
    ccn: OptText = None
    ptan: OptText = None
    address: Address | None = None


class Requester(Strict):
    name: OptText = None
    phone: OptText = None
    fax: OptText = None
    email: OptText = None


class ServiceLine(Strict):
    code: Code
    units: Annotated[StrictInt, Field(ge=1, le=999)]
    modifiers: list[Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2}$")]] = Field(
        default_factory=list, max_length=4
    )
    date_of_service: date


class PacketIn(Strict):
    """A prior-authorization request as a partner submits it."""

    external_ref: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    submission_type: Literal["initial", "resubmission"] = "initial"
    previous_utn: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, max_length=20)] | None = None
    review_type: Literal["standard", "expedited"] = "standard"
    expedited_reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None = None
    state: StateCode
    place_of_service: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{2}$")]
    type_of_bill: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{3,4}$")] | None = None
    beneficiary: Beneficiary
    practitioner: Practitioner
    facility: Facility | None = None
    requester: Requester | None = None
    services: list[ServiceLine] = Field(min_length=1, max_length=20)
    diagnosis_codes: list[Dx] = Field(default_factory=list, max_length=25)

    @model_validator(mode="after")
    def _conditional_fields(self) -> PacketIn:
        if self.submission_type == "resubmission" and not self.previous_utn:
            raise ValueError("previous_utn is required for a resubmission")
        if self.review_type == "expedited" and not self.expedited_reason:
            raise ValueError("expedited_reason is required for an expedited request")
        return self


# Fields ops may correct (T5), as dotted paths into the packet (wiser_contracts.packet_fields).
CORRECTABLE = tuple(packet_fields.CORRECTABLE)


def get_path(doc: dict[str, object], path: str) -> object:
    node: object = doc
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def set_path(doc: dict[str, object], path: str, value: object) -> None:
    parts = path.split(".")
    node = doc
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value
