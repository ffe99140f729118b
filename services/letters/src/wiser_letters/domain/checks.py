"""Compliance checks on a letter before it is rendered: every element DOMAIN.md "Letters" requires.

Each check reads the model (is the element there and well-formed) and the composed document (does the letter
actually say it), so a template that drops an element fails as surely as missing data does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from .compose import plain_service
from .document import Document, long_date
from .model import VALIDITY_DAYS, Kind, LetterModel, Recipient
from .readability import measure

MAX_GRADE = 8.0  # the beneficiary copy reads at grade 8 or below (Flesch–Kincaid)
MBI = re.compile(
    r"^[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9]"
    r"[AC-HJKMNP-RT-Y]{2}[0-9]{2}$"
)
NPI = re.compile(r"^[0-9]{10}$")
UTN = re.compile(r"^[A-Z0-9]{2}[AH][0-9]{11}$")
POLICY = re.compile(r"\b(NCD|LCD)\b")


@dataclass(frozen=True)
class CheckResult:
    check: str
    passed: bool
    detail: str = ""

    def as_dict(self) -> dict[str, object]:
        return {"check": self.check, "passed": self.passed, "detail": self.detail}


Check = Callable[[LetterModel, Document, str], str | None]  # → None if it passes, else what is wrong
NOT_APPLICABLE = "not required for this letter"  # a check may say so; it then passes


def _says(text: str, value: str, what: str) -> str | None:
    return None if value and value in text else f"the letter does not state the {what}"


def _date(m: LetterModel, _: Document, text: str) -> str | None:
    return _says(text, long_date(m.letter_date), "letter date")


def _utn(m: LetterModel, _: Document, text: str) -> str | None:
    if m.kind in (Kind.DISMISSAL, Kind.RECLASSIFICATION_NOTICE):
        return NOT_APPLICABLE
    if not m.utn:
        return "no UTN: a merits decision is lettered once the MAC has issued its UTN"
    if not UTN.match(m.utn):
        return "the UTN is malformed"
    return _says(text, m.utn, "UTN")


def _beneficiary_name(m: LetterModel, _: Document, text: str) -> str | None:
    return _says(text, m.beneficiary_name.strip(), "beneficiary's name")


def _mbi(m: LetterModel, _: Document, text: str) -> str | None:
    if not MBI.match(m.mbi):
        return "the MBI is missing or malformed"
    return _says(text, m.mbi, "MBI")


def _dob(m: LetterModel, _: Document, text: str) -> str | None:
    if m.date_of_birth is None:
        return "the beneficiary's date of birth is missing"
    return _says(text, long_date(m.date_of_birth), "date of birth")


def _provider_name(m: LetterModel, _: Document, text: str) -> str | None:
    return _says(text, m.provider_name.strip(), "provider's name")


def _npi(m: LetterModel, _: Document, text: str) -> str | None:
    if not NPI.match(m.provider_npi):
        return "the provider's NPI is missing or malformed"
    return _says(text, m.provider_npi, "provider's NPI")


def _ptan(m: LetterModel, _: Document, text: str) -> str | None:
    return _says(text, m.provider_ptan.strip(), "provider's PTAN")


def _services(m: LetterModel, _: Document, text: str) -> str | None:
    if not m.lines:
        return "no services"
    for ln in m.lines:
        if not ln.code:
            return "a service without a code"
        notice = m.kind == Kind.RECLASSIFICATION_NOTICE  # a notice names the services by code: no decision yet
        if not notice and not ln.description.strip():
            return f"service {ln.code} has no description"
        if ln.units <= 0:
            return f"service {ln.code} has no units"
        if m.kind != Kind.RECLASSIFICATION_NOTICE and ln.decision not in ("affirmed", "non_affirmed", "dismissed"):
            return f"service {ln.code} has no decision"
        if ln.code not in text or (m.kind != Kind.RECLASSIFICATION_NOTICE and ln.description not in text):
            return f"the letter does not list service {ln.code}"
    return None


def _decisions_match(m: LetterModel, _: Document, __: str) -> str | None:
    if m.kind == Kind.RECLASSIFICATION_NOTICE:
        return NOT_APPLICABLE
    decisions = {ln.decision for ln in m.lines}
    expected = {
        Kind.AFFIRMATION: decisions == {"affirmed"},
        Kind.NON_AFFIRMATION: decisions == {"non_affirmed"},
        Kind.PARTIAL_AFFIRMATION: decisions == {"affirmed", "non_affirmed"},
        Kind.DISMISSAL: decisions == {"dismissed"},
    }
    return None if expected.get(m.kind, True) else "the services' decisions do not add up to the letter's outcome"


def _reasons(m: LetterModel, _: Document, text: str) -> str | None:
    if not m.denies:
        return NOT_APPLICABLE
    for ln in m.lines:
        if ln.decision != "non_affirmed":
            continue
        if not ln.unmet:
            return f"service {ln.code} is non-affirmed without a reason"
        for c in ln.unmet:
            if not POLICY.search(c.policy):
                return f"a reason for {ln.code} is not tied to an NCD or LCD"
            if not c.reason.strip():
                return f"a reason for {ln.code} does not say what was missing"
            if not c.resubmission.strip():
                return f"a reason for {ln.code} does not say what to send on resubmission"
            if c.policy not in text:
                return f"the letter does not cite {c.policy}"
            if m.recipient == Recipient.REQUESTER and c.reason.strip().rstrip(".") not in text:
                return f"the letter does not give the reason for {ln.code}"
    return None


def _peer_to_peer(m: LetterModel, _: Document, text: str) -> str | None:
    if not m.denies or m.recipient != Recipient.REQUESTER:
        return NOT_APPLICABLE
    p = m.peer_to_peer
    if p is None or not p.phone.strip():
        return "no peer-to-peer instructions"
    return _says(text, p.phone, "peer-to-peer telephone number")


def _validity(m: LetterModel, _: Document, text: str) -> str | None:
    if not m.affirms:
        return NOT_APPLICABLE
    if m.valid_until is None or m.decided_at is None:
        return "no validity period"
    if m.valid_until != (m.decided_at + timedelta(days=VALIDITY_DAYS)).date():
        return f"the validity is not {VALIDITY_DAYS} days from the decision"
    if f"{VALIDITY_DAYS} days" not in text:
        return f"the letter does not state the {VALIDITY_DAYS}-day validity"
    return _says(text, long_date(m.valid_until), "end of the validity")


def _dismissal(m: LetterModel, _: Document, text: str) -> str | None:
    if m.kind != Kind.DISMISSAL:
        return NOT_APPLICABLE
    d = m.dismissal
    if d is None or not d.reason.strip():
        return "no dismissal reason"
    if not d.corrective_action.strip():
        return "no corrective action for the dismissal"
    return _says(text, d.reason.strip().rstrip("."), "dismissal reason") or _says(
        text, d.corrective_action.strip().rstrip("."), "corrective action"
    )


def _contact(m: LetterModel, _: Document, text: str) -> str | None:
    c = m.contact
    if not (c.organisation.strip() and c.phone.strip() and c.address.line1.strip()):
        return "the contact block needs the organisation, its address and telephone"
    return _says(text, c.phone, "contact telephone number")


def _readability(m: LetterModel, doc: Document, _: str) -> str | None:
    if m.recipient != Recipient.BENEFICIARY:
        return NOT_APPLICABLE
    r = measure(doc.prose())
    if r.grade > MAX_GRADE:
        return f"reads at grade {r.grade:.1f} (Flesch–Kincaid); the beneficiary copy must be {MAX_GRADE:.0f} or below"
    return None


def _codes_in_words(m: LetterModel, _: Document, text: str) -> str | None:
    """The beneficiary copy never shows a service code without saying in words what it is."""
    if m.recipient != Recipient.BENEFICIARY:
        return NOT_APPLICABLE
    for ln in m.lines:
        if not ln.description.strip():
            return f"service {ln.code} has no words"
        bare = text.replace(plain_service(ln.description, ln.code), "")
        if re.search(rf"\b{re.escape(ln.code)}\b", bare):
            return f"service code {ln.code} appears without words"
    return None


CHECKS: tuple[tuple[str, Check], ...] = (
    ("date", _date),
    ("utn", _utn),
    ("beneficiary_name", _beneficiary_name),
    ("mbi", _mbi),
    ("date_of_birth", _dob),
    ("provider_name", _provider_name),
    ("provider_npi", _npi),
    ("provider_ptan", _ptan),
    ("services", _services),
    ("decisions", _decisions_match),
    ("reasons", _reasons),
    ("peer_to_peer", _peer_to_peer),
    ("validity", _validity),
    ("dismissal", _dismissal),
    ("contact", _contact),
    ("readability", _readability),
    ("codes_in_words", _codes_in_words),
)


def check_letter(m: LetterModel, doc: Document) -> list[CheckResult]:
    text = doc.text()
    out = []
    for name, check in CHECKS:
        problem = check(m, doc, text)
        if problem == NOT_APPLICABLE:
            out.append(CheckResult(name, True, NOT_APPLICABLE))
        else:
            out.append(CheckResult(name, problem is None, problem or ""))
    return out


def failures(results: list[CheckResult]) -> list[CheckResult]:
    return [r for r in results if not r.passed]
