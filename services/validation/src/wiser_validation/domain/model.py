"""What the checks look at: the packet's facts, peer answers fetched beforehand, and packets seen."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).date() if "T" in text else date.fromisoformat(text)


def _moment(value: Any) -> datetime | None:
    """A timezone-aware receipt time, when the value is one (a bare date gives none)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and "T" in value:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    else:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _units(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class Beneficiary:
    mbi: str
    first_name: str
    last_name: str
    date_of_birth: date
    has_address: bool


@dataclass(frozen=True)
class Practitioner:
    npi: str
    ptan: str | None
    first_name: str
    last_name: str
    address_state: str | None = None


@dataclass(frozen=True)
class Facility:
    name: str | None
    npi: str | None
    ccn: str | None
    ptan: str | None


@dataclass(frozen=True)
class Requester:
    name: str | None
    phone: str | None
    fax: str | None
    email: str | None


@dataclass(frozen=True)
class ServiceLine:
    code: str
    units: int | None
    modifiers: tuple[str, ...]
    date_of_service: date


@dataclass(frozen=True)
class PacketFacts:
    """The facts of one packet the checks need, nothing else."""

    packet_id: str
    state: str
    place_of_service: str | None
    type_of_bill: str | None
    submission_type: str
    previous_utn: str | None
    review_type: str
    expedited_reason: str | None
    beneficiary: Beneficiary
    practitioner: Practitioner
    facility: Facility | None
    requester: Requester | None
    services: tuple[ServiceLine, ...]
    diagnosis_codes: tuple[str, ...]
    document_count: int
    received_on: date
    received_at: datetime | None = None  # intake's receipt time; with the tracking number, intake's receipt order
    tracking_number: str = ""

    @property
    def receipt_order(self) -> tuple[datetime, str] | None:
        """Where intake's receipt order puts this packet: received_at, then tracking number."""
        return None if self.received_at is None else (self.received_at, self.tracking_number)

    @classmethod
    def from_packet_json(cls, d: Mapping[str, Any]) -> PacketFacts:
        """Read intake's packet JSON (the partner packet plus packet_id, document_count, received_at)."""
        ben = d["beneficiary"]
        pra = d["practitioner"]
        fac = d.get("facility")
        req = d.get("requester")
        if "document_count" in d:
            documents = int(d["document_count"])
        else:
            documents = len(d.get("documents") or ())
        received = d.get("received_at") or d.get("received_on")
        if received is None:
            raise KeyError("received_at")
        return cls(
            packet_id=str(d["packet_id"]),
            state=(_text(d.get("state")) or "").upper(),
            place_of_service=_text(d.get("place_of_service")),
            type_of_bill=_text(d.get("type_of_bill")),
            submission_type=_text(d.get("submission_type")) or "initial",
            previous_utn=_text(d.get("previous_utn")),
            review_type=_text(d.get("review_type")) or "standard",
            expedited_reason=_text(d.get("expedited_reason")),
            beneficiary=Beneficiary(
                mbi=_text(ben.get("mbi")) or "",
                first_name=_text(ben.get("first_name")) or "",
                last_name=_text(ben.get("last_name")) or "",
                date_of_birth=_day(ben["date_of_birth"]),
                has_address=bool(ben.get("address")),
            ),
            practitioner=Practitioner(
                npi=_text(pra.get("npi")) or "",
                ptan=_text(pra.get("ptan")),
                first_name=_text(pra.get("first_name")) or "",
                last_name=_text(pra.get("last_name")) or "",
                address_state=_text((pra.get("address") or {}).get("state")),
            ),
            facility=None
            if not fac
            else Facility(
                name=_text(fac.get("name")),
                npi=_text(fac.get("npi")),
                ccn=_text(fac.get("ccn")),
                ptan=_text(fac.get("ptan")),
            ),
            requester=None
            if not req
            else Requester(
                name=_text(req.get("name")),
                phone=_text(req.get("phone")),
                fax=_text(req.get("fax")),
                email=_text(req.get("email")),
            ),
            services=tuple(
                ServiceLine(
                    code=(_text(s.get("code")) or "").upper(),
                    units=_units(s.get("units")),
                    modifiers=tuple(str(x).upper() for x in s.get("modifiers") or ()),
                    date_of_service=_day(s["date_of_service"]),
                )
                for s in d.get("services") or ()
            ),
            diagnosis_codes=tuple(str(x).strip().upper() for x in d.get("diagnosis_codes") or () if str(x).strip()),
            document_count=documents,
            received_on=_day(received),
            received_at=_moment(received),
            tracking_number=_text(d.get("tracking_number")) or "",
        )


# ------------------------------------------------------------------ peer answers


@dataclass(frozen=True)
class Eligibility:
    """HETS's answer for the packet's MBI over every date of service, as the adapter read it.

    `not_found`: HETS does not know the MBI (AAA 72, 75, 67); `mismatch`: it knows the MBI but the name
    (AAA 73, 65) or the date of birth (AAA 71, 58, 60) does not match; `unavailable`: no usable answer
    (busy after retries, or HETS refused our own submitter set-up, `submitter_problem`).
    The coverage flags hold for the dates of service: Part A/B in effect on every one, Medicare Advantage
    on any. `asked_for` is the day HETS was asked about instead of the dates of service, when it would
    not answer for them (AAA 56, 57, 62, 63).
    """

    status: Literal["found", "not_found", "mismatch", "unavailable"]
    first_name: str | None = None
    last_name: str | None = None
    date_of_birth: date | None = None
    date_of_death: date | None = None
    part_a_active_on_dos: bool = False
    part_b_active_on_dos: bool = False
    medicare_advantage_on_dos: bool = False
    railroad: bool = False
    medicaid_only: bool = False
    name_mismatch: bool = False
    dob_mismatch: bool = False
    asked_for: date | None = None
    submitter_problem: bool = False


@dataclass(frozen=True)
class NpiRecord:
    """NPPES answer for one NPI."""

    npi: str
    status: Literal["active", "deactivated", "not_found", "unavailable"]
    state: str | None = None


@dataclass(frozen=True)
class Enrollment:
    """PECOS answer for the practitioner's NPI."""

    npi: str
    status: Literal["enrolled", "not_enrolled", "not_found", "unavailable"]
    provider_type: str | None = None
    state: str | None = None


# ---------------------------------------------------------------- packets seen


@dataclass(frozen=True)
class OpenRequest:
    """A packet with no determination yet, where intake's receipt order puts it."""

    practitioner_npi: str
    mbi: str
    service_id: str
    packet_id: str
    received_at: datetime | None = None
    tracking_number: str = ""

    def received_before(self, facts: PacketFacts) -> bool:
        """Whether intake received this request before `facts`' packet (received_at, then tracking number);
        without receipt times, it is taken as earlier."""
        if self.received_at is None or facts.receipt_order is None:
            return True
        return (self.received_at, self.tracking_number) < facts.receipt_order


@dataclass(frozen=True)
class IssuedUtn:
    """A UTN issued for one of our determinations, with the beneficiary identity of its packet."""

    utn: str
    first_name: str
    last_name: str
    date_of_birth: date
    packet_id: str | None = None


@dataclass(frozen=True)
class History:
    open_requests: tuple[OpenRequest, ...] = ()
    issued_utns: tuple[IssuedUtn, ...] = ()

    def utn(self, utn: str) -> IssuedUtn | None:
        """The UTN we issued with this number, if any."""
        wanted = utn.strip().upper()
        return next((u for u in self.issued_utns if u.utn.upper() == wanted), None)
