"""By whom: the NPIs are well formed and active, the practitioner is enrolled, of an eligible type, practising
in a WISeR state, and not exempt."""

from __future__ import annotations

from collections.abc import Mapping

from wiser_contracts import messages as m
from wiser_validation.reference import ReferenceSet

from ..identifiers import npi_is_well_formed
from ..model import Enrollment, NpiRecord, PacketFacts
from .common import EXEMPTION, NPI_ACTIVE, NPI_FORMAT, PROVIDER_ENROLLMENT, peer_unavailable, skipped


def _npis(facts: PacketFacts) -> list[tuple[str, str]]:
    found = [("practitioner.npi", facts.practitioner.npi)]
    if facts.facility is not None and facts.facility.npi:
        found.append(("facility.npi", facts.facility.npi))
    return found


def check_npi_format(facts: PacketFacts) -> list[m.Finding]:
    """Ask for a correction for each NPI (practitioner, facility) without a valid check digit."""
    return [
        m.Finding(
            check=NPI_FORMAT,
            code="NPI_FORMAT",
            severity="correction",
            field=field,
            message="The NPI is not 10 digits with a valid check digit.",
            suggestion="Verify the NPI in the NPI Registry and correct it.",
        )
        for field, npi in _npis(facts)
        if not npi_is_well_formed(npi)
    ]


def check_npi_active(facts: PacketFacts, npis: Mapping[str, NpiRecord]) -> list[m.Finding]:
    """Dismiss when NPPES does not know an NPI or reports it deactivated."""
    findings = []
    for field, npi in _npis(facts):
        record = npis.get(npi)
        if not npi_is_well_formed(npi):
            findings.append(skipped(NPI_ACTIVE, "the NPI check digit is invalid", field))
        elif record is None:
            findings.append(skipped(NPI_ACTIVE, "the NPI was not looked up", field))
        elif record.status == "unavailable":
            findings.append(peer_unavailable(NPI_ACTIVE, field))
        elif record.status != "active":
            state = "deactivated" if record.status == "deactivated" else "unknown"
            findings.append(
                m.Finding(
                    check=NPI_ACTIVE,
                    code="INVALID_BILLING_INFO",
                    severity="dismiss",
                    field=field,
                    message=f"The NPI is {state} in NPPES.",
                    suggestion="Verify the NPI and resubmit.",
                )
            )
    return findings


def check_provider_enrollment(
    facts: PacketFacts, enrollment: Enrollment | None, npis: Mapping[str, NpiRecord], ref: ReferenceSet
) -> list[m.Finding]:
    """Dismiss unless the practitioner is enrolled in PECOS, of an eligible type, and practising in a WISeR state
    (one of the six of the reference data, whatever states this deployment serves); the message says which failed."""
    field = "practitioner.npi"
    if not npi_is_well_formed(facts.practitioner.npi):
        return [skipped(PROVIDER_ENROLLMENT, "the practitioner NPI check digit is invalid", field)]
    if enrollment is None:
        return [skipped(PROVIDER_ENROLLMENT, "PECOS was not looked up", field)]
    if enrollment.status == "unavailable":
        return [peer_unavailable(PROVIDER_ENROLLMENT, field)]

    def ineligible(what: str, message: str) -> m.Finding:
        return m.Finding(
            check=PROVIDER_ENROLLMENT,
            code="INELIGIBLE_PROVIDER",
            severity="dismiss",
            field=field,
            message=f"Ineligible provider ({what}): {message}",
            suggestion="Bill normally.",
        )

    if enrollment.status == "not_found":
        return [ineligible("enrolment", "PECOS has no enrollment record for the practitioner's NPI.")]
    if enrollment.status != "enrolled":
        return [ineligible("enrolment", "the practitioner has no current PECOS enrollment.")]
    findings = []
    if enrollment.provider_type not in ref.eligible_provider_types:
        kind = enrollment.provider_type or "(none)"
        allowed = ", ".join(sorted(ref.eligible_provider_types))
        findings.append(
            ineligible("provider type", f"PECOS provider type {kind} may not request WISeR services ({allowed} may).")
        )
    nppes = npis.get(facts.practitioner.npi)
    state = enrollment.state or (nppes.state if nppes else None) or facts.practitioner.address_state
    if state is None:
        findings.append(
            m.Finding(
                check=PROVIDER_ENROLLMENT,
                code="PRACTICE_STATE_UNKNOWN",
                severity="info",
                field=field,
                message="Neither PECOS, NPPES nor the packet gives the practitioner's state.",
            )
        )
    elif state.upper() not in ref.states:
        findings.append(
            ineligible("practice state", f"the practitioner practises in {state.upper()}, not a WISeR state.")
        )
    return findings


def check_exemption(facts: PacketFacts, ref: ReferenceSet) -> list[m.Finding]:
    """Dismiss a request from a practitioner on the exemption (gold card) list."""
    if facts.practitioner.npi not in ref.exempt_npis:
        return []
    return [
        m.Finding(
            check=EXEMPTION,
            code="EXEMPT_PROVIDER",
            severity="dismiss",
            field="practitioner.npi",
            message="The practitioner holds a WISeR exemption (gold card).",
            suggestion="Bill normally: no prior authorization is needed.",
        )
    ]
