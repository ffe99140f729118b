"""Run every check in the table's order and turn the findings into an outcome."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime

from wiser_contracts import messages as m
from wiser_validation.reference import ReferenceSet

from . import checks as c
from .identifiers import mbi_is_well_formed, npi_is_well_formed
from .model import Eligibility, Enrollment, History, NpiRecord, PacketFacts

HETS = "hets"
NPPES = "nppes"
PECOS = "pecos"


def run_checks(
    facts: PacketFacts,
    eligibility: Eligibility | None,
    npis: Mapping[str, NpiRecord],
    enrollment: Enrollment | None,
    history: History,
    ref: ReferenceSet,
    *,
    now: datetime,
    served: Collection[str] | None = None,
) -> list[m.Finding]:
    """Run every check that can run, in the table's order, and return all their findings.

    `now` is this run's moment (dates of service are judged against today in the state's time zone);
    `served` the states this deployment serves (default: every WISeR state of the reference data).
    """
    return [
        *c.check_jurisdiction(facts, ref, served),
        *c.check_service_scope(facts, ref),
        *c.check_mbi_format(facts),
        *c.check_beneficiary(facts, eligibility),
        *c.check_medicare_coverage(facts, eligibility),
        *c.check_npi_format(facts),
        *c.check_npi_active(facts, npis),
        *c.check_provider_enrollment(facts, enrollment, npis, ref),
        *c.check_exemption(facts, ref),
        *c.check_duplicate(facts, history, ref),
        *c.check_required_elements(facts, ref),
        *c.check_documentation(facts),
        *c.check_date_of_service(facts, ref, now),
        *c.check_resubmission(facts, history),
    ]


def decide(
    findings: Iterable[m.Finding], ref: ReferenceSet
) -> tuple[m.ValidationOutcome, tuple[m.DismissalReason, ...]]:
    """Dismiss on any dismissal finding (every code, main first), else need correction on any, else pass."""
    found = list(findings)
    dismissals = {f.code for f in found if f.severity == "dismiss"}
    if dismissals:
        ordered = [code for code in c.DISMISSAL_ORDER if code in dismissals]
        ordered += sorted(dismissals - set(c.DISMISSAL_ORDER))
        texts = ref.dismissal_reasons
        reasons = tuple(
            m.DismissalReason(
                code=code,
                reason=texts[code].reason if code in texts else "",
                corrective_action=texts[code].action if code in texts else "",
            )
            for code in ordered
        )
        return m.ValidationOutcome.DISMISS, reasons
    if any(f.severity == "correction" for f in found):
        return m.ValidationOutcome.NEEDS_CORRECTION, ()
    return m.ValidationOutcome.PASSED, ()


def npis_to_look_up(facts: PacketFacts) -> tuple[str, ...]:
    """The packet's NPIs (practitioner, facility) worth asking NPPES about: those with a valid check digit."""
    candidates = [facts.practitioner.npi]
    if facts.facility is not None and facts.facility.npi:
        candidates.append(facts.facility.npi)
    return tuple(dict.fromkeys(n for n in candidates if npi_is_well_formed(n)))


def needed_peers(facts: PacketFacts, ref: ReferenceSet) -> set[str]:
    """Which peer look-ups (`hets`, `nppes`, `pecos`) can change the result of this packet's checks."""
    peers = set()
    if mbi_is_well_formed(facts.beneficiary.mbi) and facts.services:
        peers.add(HETS)
    if npis_to_look_up(facts):
        peers.add(NPPES)
    if npi_is_well_formed(facts.practitioner.npi):
        peers.add(PECOS)
    return peers
