"""The letter model: everything a decision letter says, built from the determination and the packet (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

VALIDITY_DAYS = 120  # DOMAIN.md "Letters": an affirmation is valid for 120 days


class Kind(StrEnum):
    AFFIRMATION = "affirmation"
    NON_AFFIRMATION = "non_affirmation"
    PARTIAL_AFFIRMATION = "partial_affirmation"
    DISMISSAL = "dismissal"
    RECLASSIFICATION_NOTICE = "reclassification_notice"


class Recipient(StrEnum):
    REQUESTER = "requester"
    BENEFICIARY = "beneficiary"


KIND_OF_OUTCOME = {
    "affirmed": Kind.AFFIRMATION,
    "non_affirmed": Kind.NON_AFFIRMATION,
    "partially_affirmed": Kind.PARTIAL_AFFIRMATION,
    "dismissed": Kind.DISMISSAL,
}
DECISION_WORDS = {
    "affirmed": "Affirmed",
    "non_affirmed": "Non-affirmed",
    "partially_affirmed": "Partially affirmed",
    "dismissed": "Dismissed",
}
# The beneficiary copy says the decision in plain words.
PLAIN_DECISION = {
    "affirmed": "Approved",
    "non_affirmed": "Not approved",
    "partially_affirmed": "Partly approved",
    "dismissed": "Not reviewed",
}


@dataclass(frozen=True)
class Criterion:
    """One unmet coverage criterion: what the NCD/LCD requires, why it was not met, what to send."""

    criterion_id: str
    criterion: str
    policy: str
    reason: str
    resubmission: str


@dataclass(frozen=True)
class ServiceLine:
    code: str
    description: str
    units: int
    decision: str  # affirmed | non_affirmed | dismissed
    unmet: tuple[Criterion, ...] = ()


@dataclass(frozen=True)
class Address:
    line1: str
    city: str
    state: str
    zip: str
    line2: str = ""

    def lines(self) -> list[str]:
        first = [self.line1] + ([self.line2] if self.line2 else [])
        return [*first, f"{self.city}, {self.state} {self.zip}"]


@dataclass(frozen=True)
class Contact:
    """The review organisation's contact block (settings)."""

    organisation: str
    address: Address
    phone: str
    fax: str
    hours: str
    website: str
    tty: str = "711"


@dataclass(frozen=True)
class PeerToPeer:
    phone: str
    hours: str
    how: str


@dataclass(frozen=True)
class Dismissal:
    code: str
    reason: str
    corrective_action: str


@dataclass(frozen=True)
class Party:
    """The addressee block."""

    name: str
    address: Address | None = None
    attention: str = ""


@dataclass(frozen=True)
class LetterModel:
    kind: Kind
    recipient: Recipient
    template_version: str
    letter_date: date
    packet_id: str
    tracking_number: str
    addressee: Party
    beneficiary_name: str
    mbi: str
    date_of_birth: date | None
    provider_name: str
    provider_npi: str
    provider_ptan: str
    facility_name: str
    facility_npi: str
    lines: tuple[ServiceLine, ...]
    contact: Contact
    utn: str | None = None
    decided_at: datetime | None = None
    valid_until: date | None = None
    dismissal: Dismissal | None = None
    peer_to_peer: PeerToPeer | None = None
    review_type: str = "standard"
    due_at: datetime | None = None  # reclassification notices: the new due date
    reclassification_reason: str = ""
    # Free-text paragraphs a person may edit (a new version): name → text; empty means the template's text.
    paragraphs: dict[str, str] = field(default_factory=dict)

    @property
    def merits(self) -> bool:
        return self.kind in (Kind.AFFIRMATION, Kind.NON_AFFIRMATION, Kind.PARTIAL_AFFIRMATION)

    @property
    def affirms(self) -> bool:
        return self.kind in (Kind.AFFIRMATION, Kind.PARTIAL_AFFIRMATION)

    @property
    def denies(self) -> bool:
        return self.kind in (Kind.NON_AFFIRMATION, Kind.PARTIAL_AFFIRMATION)


def valid_until(decided_at: datetime) -> date:
    return (decided_at + timedelta(days=VALIDITY_DAYS)).date()


# ---------------------------------------------------------------------------------------------- building


class MissingData(ValueError):
    """The packet or determination lacks something a letter is built from (the set is blocked with this)."""


def _address(raw: dict[str, Any] | None) -> Address | None:
    if not raw:
        return None
    return Address(
        line1=str(raw.get("line1") or ""),
        line2=str(raw.get("line2") or ""),
        city=str(raw.get("city") or ""),
        state=str(raw.get("state") or ""),
        zip=str(raw.get("zip") or ""),
    )


def _dob(raw: Any) -> date | None:
    try:
        return date.fromisoformat(str(raw)) if raw else None
    except ValueError:
        return None


def _practitioner_name(p: dict[str, Any]) -> str:
    return " ".join(x for x in (p.get("first_name"), p.get("last_name")) if x).strip()


def _dt(raw: Any) -> datetime | None:
    if raw is None or isinstance(raw, datetime):
        return raw
    return datetime.fromisoformat(str(raw))


def build_letters(
    *,
    packet: dict[str, Any],
    determination: dict[str, Any] | None,
    dismissal: Dismissal | None,
    descriptions: dict[str, str],
    contact: Contact,
    template_version: str,
    letter_date: date,
    utn: str | None,
    paragraphs: dict[str, dict[str, str]] | None = None,
) -> tuple[LetterModel, LetterModel]:
    """The requester letter and the beneficiary copy for a determined packet.

    `packet` is intake's ops view; `determination` clinical's (None for dismissals); `descriptions` the
    service names by code (validation's reference data) for lines clinical does not describe.
    """
    outcome = (determination or {}).get("outcome") or (packet.get("determination") or {}).get("outcome")
    if outcome not in KIND_OF_OUTCOME:
        raise MissingData(f"unknown outcome {outcome!r}")
    kind = KIND_OF_OUTCOME[outcome]
    units = {s["code"]: int(s.get("units") or 0) for s in packet.get("services") or []}
    lines: list[ServiceLine] = []
    if kind == Kind.DISMISSAL:
        for s in packet.get("services") or []:
            lines.append(
                ServiceLine(
                    code=s["code"],
                    description=descriptions.get(s["code"], ""),
                    units=int(s.get("units") or 0),
                    decision="dismissed",
                )
            )
        decided_at = _dt((packet.get("determination") or {}).get("decided_at"))
    else:
        assert determination is not None
        for ln in determination.get("lines") or []:
            lines.append(
                ServiceLine(
                    code=ln["code"],
                    description=ln.get("description") or descriptions.get(ln["code"], ""),
                    units=int(ln.get("units") or units.get(ln["code"], 0)),
                    decision=ln["outcome"],
                    unmet=tuple(
                        Criterion(
                            criterion_id=str(c.get("criterion_id") or ""),
                            criterion=str(c.get("criterion") or ""),
                            policy=str(c.get("policy") or ""),
                            reason=str(c.get("reason") or ""),
                            resubmission=str(c.get("resubmission") or ""),
                        )
                        for c in ln.get("unmet") or []
                    ),
                )
            )
        decided_at = _dt(determination.get("decided_at"))
    ptp = (determination or {}).get("peer_to_peer")
    ben = packet.get("beneficiary") or {}
    prac = packet.get("practitioner") or {}
    fac = packet.get("facility") or {}
    req = packet.get("requester") or {}
    common: dict[str, Any] = {
        "kind": kind,
        "template_version": template_version,
        "letter_date": letter_date,
        "packet_id": str(packet.get("packet_id") or ""),
        "tracking_number": str(packet.get("tracking_number") or ""),
        "beneficiary_name": " ".join(x for x in (ben.get("first_name"), ben.get("last_name")) if x),
        "mbi": str(ben.get("mbi") or "").upper(),
        "date_of_birth": _dob(ben.get("date_of_birth")),
        "provider_name": _practitioner_name(prac),
        "provider_npi": str(prac.get("npi") or ""),
        "provider_ptan": str(prac.get("ptan") or ""),
        "facility_name": str(fac.get("name") or ""),
        "facility_npi": str(fac.get("npi") or ""),
        "lines": tuple(lines),
        "contact": contact,
        "utn": utn if kind != Kind.DISMISSAL else None,
        "decided_at": decided_at,
        "valid_until": valid_until(decided_at)
        if decided_at and kind in (Kind.AFFIRMATION, Kind.PARTIAL_AFFIRMATION)
        else None,
        "dismissal": dismissal if kind == Kind.DISMISSAL else None,
        "peer_to_peer": PeerToPeer(str(ptp.get("phone") or ""), str(ptp.get("hours") or ""), str(ptp.get("how") or ""))
        if ptp
        else None,
        "review_type": str(packet.get("review_type") or "standard"),
    }
    edits = paragraphs or {}
    requester = LetterModel(
        recipient=Recipient.REQUESTER,
        addressee=Party(
            name=_practitioner_name(prac) or str(req.get("name") or ""),
            address=_address(prac.get("address")),
            attention=str(req.get("name") or ""),
        ),
        paragraphs=dict(edits.get(Recipient.REQUESTER.value, {})),
        **common,
    )
    beneficiary = LetterModel(
        recipient=Recipient.BENEFICIARY,
        addressee=Party(name=common["beneficiary_name"], address=_address(ben.get("address"))),
        paragraphs=dict(edits.get(Recipient.BENEFICIARY.value, {})),
        **common,
    )
    return requester, beneficiary


def build_reclassification_notice(
    *,
    packet: dict[str, Any],
    contact: Contact,
    template_version: str,
    letter_date: date,
    due_at: datetime,
    reason: str,
) -> LetterModel:
    """The notice to the requester that an expedited request is now reviewed on the standard clock."""
    ben = packet.get("beneficiary") or {}
    prac = packet.get("practitioner") or {}
    fac = packet.get("facility") or {}
    req = packet.get("requester") or {}
    return LetterModel(
        kind=Kind.RECLASSIFICATION_NOTICE,
        recipient=Recipient.REQUESTER,
        template_version=template_version,
        letter_date=letter_date,
        packet_id=str(packet.get("packet_id") or ""),
        tracking_number=str(packet.get("tracking_number") or ""),
        addressee=Party(
            name=_practitioner_name(prac) or str(req.get("name") or ""),
            address=_address(prac.get("address")),
            attention=str(req.get("name") or ""),
        ),
        beneficiary_name=" ".join(x for x in (ben.get("first_name"), ben.get("last_name")) if x),
        mbi=str(ben.get("mbi") or "").upper(),
        date_of_birth=_dob(ben.get("date_of_birth")),
        provider_name=_practitioner_name(prac),
        provider_npi=str(prac.get("npi") or ""),
        provider_ptan=str(prac.get("ptan") or ""),
        facility_name=str(fac.get("name") or ""),
        facility_npi=str(fac.get("npi") or ""),
        lines=tuple(
            ServiceLine(code=s["code"], description="", units=int(s.get("units") or 0), decision="pending")
            for s in packet.get("services") or []
        ),
        contact=contact,
        review_type="standard",
        due_at=due_at,
        reclassification_reason=reason,
    )


# ------------------------------------------------------------------------------------- to and from JSON


def model_to_json(m: LetterModel) -> dict[str, Any]:
    """The model as plain JSON (kept with each letter version, so an edit redraws exactly what was approved)."""
    from dataclasses import asdict

    def conv(v: Any) -> Any:
        if isinstance(v, datetime | date):
            return v.isoformat()
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [conv(x) for x in v]
        return v

    return conv(asdict(m))  # type: ignore[no-any-return]


def model_from_json(d: dict[str, Any]) -> LetterModel:
    def addr(x: dict[str, Any] | None) -> Address | None:
        return Address(**x) if x else None

    c = d["contact"]
    return LetterModel(
        kind=Kind(d["kind"]),
        recipient=Recipient(d["recipient"]),
        template_version=d["template_version"],
        letter_date=date.fromisoformat(d["letter_date"]),
        packet_id=d["packet_id"],
        tracking_number=d["tracking_number"],
        addressee=Party(
            name=d["addressee"]["name"],
            address=addr(d["addressee"].get("address")),
            attention=d["addressee"].get("attention", ""),
        ),
        beneficiary_name=d["beneficiary_name"],
        mbi=d["mbi"],
        date_of_birth=date.fromisoformat(d["date_of_birth"]) if d.get("date_of_birth") else None,
        provider_name=d["provider_name"],
        provider_npi=d["provider_npi"],
        provider_ptan=d["provider_ptan"],
        facility_name=d["facility_name"],
        facility_npi=d["facility_npi"],
        lines=tuple(
            ServiceLine(
                code=ln["code"],
                description=ln["description"],
                units=ln["units"],
                decision=ln["decision"],
                unmet=tuple(Criterion(**c) for c in ln.get("unmet", [])),
            )
            for ln in d["lines"]
        ),
        contact=Contact(**{**c, "address": Address(**c["address"])}),
        utn=d.get("utn"),
        decided_at=datetime.fromisoformat(d["decided_at"]) if d.get("decided_at") else None,
        valid_until=date.fromisoformat(d["valid_until"]) if d.get("valid_until") else None,
        dismissal=Dismissal(**d["dismissal"]) if d.get("dismissal") else None,
        peer_to_peer=PeerToPeer(**d["peer_to_peer"]) if d.get("peer_to_peer") else None,
        review_type=d.get("review_type", "standard"),
        due_at=datetime.fromisoformat(d["due_at"]) if d.get("due_at") else None,
        reclassification_reason=d.get("reclassification_reason", ""),
        paragraphs=dict(d.get("paragraphs") or {}),
    )
