"""Every check of DOMAIN.md "How validation decides", one small pure function each.

A check returns the findings it has (none when it passes). Messages carry codes and field names, never PHI.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from wiser_contracts import messages as m
from wiser_validation.reference import ReferenceSet

from .identifiers import mbi_is_well_formed, npi_is_well_formed
from .model import Eligibility, Enrollment, History, NpiRecord, PacketFacts
from .scope import appendix_a_service, scope_of

# Check names, in the table's order, with the code a skipped check is reported under.
JURISDICTION = "jurisdiction"
SERVICE_SCOPE = "service_scope"
MBI_FORMAT = "mbi_format"
BENEFICIARY = "beneficiary"
MEDICARE_COVERAGE = "medicare_coverage"
NPI_FORMAT = "npi_format"
NPI_ACTIVE = "npi_active"
PROVIDER_ENROLLMENT = "provider_enrollment"
EXEMPTION = "exemption"
DUPLICATE = "duplicate"
REQUIRED_ELEMENTS = "required_elements"
DOCUMENTATION = "documentation"
DATE_OF_SERVICE = "date_of_service"
RESUBMISSION = "resubmission"

CHECK_CODES: dict[str, str] = {
    JURISDICTION: "WRONG_JURISDICTION",
    SERVICE_SCOPE: "NON_WISER_SERVICE",
    MBI_FORMAT: "MBI_FORMAT",
    BENEFICIARY: "INVALID_BENEFICIARY",
    MEDICARE_COVERAGE: "NOT_ORIGINAL_MEDICARE",
    NPI_FORMAT: "NPI_FORMAT",
    NPI_ACTIVE: "INVALID_BILLING_INFO",
    PROVIDER_ENROLLMENT: "INELIGIBLE_PROVIDER",
    EXEMPTION: "EXEMPT_PROVIDER",
    DUPLICATE: "DUPLICATE_REQUEST",
    REQUIRED_ELEMENTS: "MISSING_ELEMENT",
    DOCUMENTATION: "MISSING_DOCUMENTATION",
    DATE_OF_SERVICE: "DOS_INVALID",
    RESUBMISSION: "RESUBMISSION_MISMATCH",
}

# Dismissal codes in the order of the table's rows: the first one found is the main reason.
DISMISSAL_ORDER: tuple[str, ...] = (
    "WRONG_JURISDICTION",
    "NON_WISER_SERVICE",
    "INVALID_BENEFICIARY",
    "NOT_ORIGINAL_MEDICARE",
    "INVALID_BILLING_INFO",
    "INELIGIBLE_PROVIDER",
    "EXEMPT_PROVIDER",
    "DUPLICATE_REQUEST",
)

PEERS = {BENEFICIARY: "HETS", MEDICARE_COVERAGE: "HETS", NPI_ACTIVE: "NPPES", PROVIDER_ENROLLMENT: "PECOS"}


def skipped(check: str, why: str, field: str | None = None) -> m.Finding:
    """Report that `check` could not run, and why."""
    return m.Finding(check=check, code=CHECK_CODES[check], severity="skipped", field=field, message=f"Not run: {why}.")


def peer_unavailable(check: str, field: str | None = None) -> m.Finding:
    """Report that the peer `check` needs did not answer."""
    peer = PEERS[check]
    return m.Finding(
        check=check,
        code="PEER_UNAVAILABLE",
        severity="correction",
        field=field,
        message=f"{peer} could not be reached after retries; the {check.replace('_', ' ')} check did not run.",
        suggestion="Run validation again once the peer is back, or verify by hand.",
    )


def _dos_dates(facts: PacketFacts) -> list[date]:
    return sorted(s.date_of_service for s in facts.services)


# ---------------------------------------------------------------------------- checks


def check_jurisdiction(facts: PacketFacts, ref: ReferenceSet) -> list[m.Finding]:
    """Dismiss a packet whose state of service this deployment does not serve."""
    if facts.state in ref.states:
        return []
    served = ", ".join(sorted(ref.states))
    return [
        m.Finding(
            check=JURISDICTION,
            code="WRONG_JURISDICTION",
            severity="dismiss",
            field="state",
            message=f"State of service {facts.state or '(none)'} is not served here (served: {served}).",
            suggestion="Resubmit to the reviewer or MAC of the state of service.",
        )
    ]


def check_service_scope(facts: PacketFacts, ref: ReferenceSet) -> list[m.Finding]:
    """Dismiss a packet with no Appendix A code in scope; note every line that is out of scope."""
    verdicts = scope_of(facts, ref)
    notes = [
        m.Finding(
            check=SERVICE_SCOPE,
            code="NON_WISER_SERVICE",
            severity="info",
            field=f"services[{v.index}].code",
            message=v.reason,
        )
        for v in verdicts
        if not v.in_scope
    ]
    in_scope = {v.service_id for v in verdicts if v.in_scope and v.service_id}
    if not in_scope:
        return [
            m.Finding(
                check=SERVICE_SCOPE,
                code="NON_WISER_SERVICE",
                severity="dismiss",
                field="services",
                message="No service line is under WISeR for this state, date of service and diagnoses.",
                suggestion="None: the request is not subject to WISeR.",
            ),
            *notes,
        ]
    if len(in_scope) > 1:
        notes.append(
            m.Finding(
                check=SERVICE_SCOPE,
                code="MULTIPLE_SERVICES",
                severity="info",
                field="services",
                message=f"One request should pertain to one Appendix A service; found {', '.join(sorted(in_scope))}.",
            )
        )
    return notes


def check_mbi_format(facts: PacketFacts) -> list[m.Finding]:
    """Ask for a correction when the MBI is not 11 uppercase characters of the MBI pattern."""
    if mbi_is_well_formed(facts.beneficiary.mbi):
        return []
    return [
        m.Finding(
            check=MBI_FORMAT,
            code="MBI_FORMAT",
            severity="correction",
            field="beneficiary.mbi",
            message="The MBI is not well formed.",
            suggestion="Enter the 11-character MBI from the Medicare card: uppercase, no dashes, no S, L, O, I, B, Z.",
        )
    ]


def check_beneficiary(facts: PacketFacts, eligibility: Eligibility | None) -> list[m.Finding]:
    """Check the beneficiary is known to eligibility, alive on the dates of service, and named as on file."""
    if not mbi_is_well_formed(facts.beneficiary.mbi):
        return [skipped(BENEFICIARY, "the MBI is malformed", "beneficiary.mbi")]
    if eligibility is None:
        return [skipped(BENEFICIARY, "eligibility was not looked up", "beneficiary.mbi")]
    if eligibility.status == "unavailable":
        return [peer_unavailable(BENEFICIARY, "beneficiary.mbi")]
    if eligibility.status == "not_found":
        return [
            m.Finding(
                check=BENEFICIARY,
                code="INVALID_BENEFICIARY",
                severity="dismiss",
                field="beneficiary.mbi",
                message="Eligibility does not know this MBI.",
                suggestion="Resubmit with the MBI from the beneficiary's Medicare card.",
            )
        ]
    findings = []
    dates = _dos_dates(facts)
    if eligibility.date_of_death is not None and dates and eligibility.date_of_death <= dates[-1]:
        findings.append(
            m.Finding(
                check=BENEFICIARY,
                code="INVALID_BENEFICIARY",
                severity="dismiss",
                field="beneficiary.mbi",
                message="Eligibility reports the beneficiary deceased on or before a date of service.",
                suggestion="None: no request can be made for this beneficiary and date of service.",
            )
        )
    ben = facts.beneficiary
    compared = (
        ("beneficiary.first_name", "first name", _same_name(ben.first_name, eligibility.first_name)),
        ("beneficiary.last_name", "last name", _same_name(ben.last_name, eligibility.last_name)),
        ("beneficiary.date_of_birth", "date of birth", ben.date_of_birth == eligibility.date_of_birth),
    )
    findings.extend(
        m.Finding(
            check=BENEFICIARY,
            code="BENEFICIARY_MISMATCH",
            severity="correction",
            field=field,
            message=f"The beneficiary's {what} does not match eligibility for this MBI.",
            suggestion=f"Correct the {what} to match the Medicare card.",
        )
        for field, what, same in compared
        if not same
    )
    return findings


def _same_name(given: str, on_file: str | None) -> bool:
    # HETS matches names without regard to case or repeated spaces.
    return on_file is not None and " ".join(given.split()).casefold() == " ".join(on_file.split()).casefold()


def check_medicare_coverage(facts: PacketFacts, eligibility: Eligibility | None) -> list[m.Finding]:
    """Dismiss unless Part B is in effect on the date of service without MA, Railroad or Medicaid-only coverage."""
    if not mbi_is_well_formed(facts.beneficiary.mbi):
        return [skipped(MEDICARE_COVERAGE, "the MBI is malformed", "beneficiary.mbi")]
    if eligibility is None:
        return [skipped(MEDICARE_COVERAGE, "eligibility was not looked up", "beneficiary.mbi")]
    if eligibility.status == "unavailable":
        return [peer_unavailable(MEDICARE_COVERAGE, "beneficiary.mbi")]
    if eligibility.status == "not_found":
        return [skipped(MEDICARE_COVERAGE, "eligibility does not know the MBI", "beneficiary.mbi")]
    problems = []
    if eligibility.medicaid_only:
        problems.append("the beneficiary has Medicaid only")
    elif not eligibility.part_b_active_on_dos:
        problems.append("Part B is not in effect on the date of service")
    if eligibility.medicare_advantage_on_dos:
        problems.append("the beneficiary is in a Medicare Advantage plan on the date of service")
    if eligibility.railroad:
        problems.append("the beneficiary is covered by Railroad Medicare")
    return [
        m.Finding(
            check=MEDICARE_COVERAGE,
            code="NOT_ORIGINAL_MEDICARE",
            severity="dismiss",
            field="beneficiary.mbi",
            message=f"Not Original Medicare: {problem}.",
            suggestion="Contact the beneficiary's plan.",
        )
        for problem in problems
    ]


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
    """Dismiss unless the practitioner is enrolled in PECOS, of an eligible type, and practising in a WISeR state."""
    field = "practitioner.npi"
    if not npi_is_well_formed(facts.practitioner.npi):
        return [skipped(PROVIDER_ENROLLMENT, "the practitioner NPI check digit is invalid", field)]
    if enrollment is None:
        return [skipped(PROVIDER_ENROLLMENT, "PECOS was not looked up", field)]
    if enrollment.status == "unavailable":
        return [peer_unavailable(PROVIDER_ENROLLMENT, field)]

    def ineligible(message: str) -> m.Finding:
        return m.Finding(
            check=PROVIDER_ENROLLMENT,
            code="INELIGIBLE_PROVIDER",
            severity="dismiss",
            field=field,
            message=message,
            suggestion="Bill normally.",
        )

    if enrollment.status != "enrolled":
        return [ineligible("The practitioner has no current PECOS enrollment.")]
    findings = []
    if enrollment.provider_type not in ref.eligible_provider_types:
        kind = enrollment.provider_type or "(none)"
        findings.append(ineligible(f"Provider type {kind} is not eligible to request WISeR services."))
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
        findings.append(ineligible(f"The practitioner practises in {state.upper()}, not a WISeR state."))
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


def check_duplicate(facts: PacketFacts, history: History, ref: ReferenceSet) -> list[m.Finding]:
    """Dismiss when an open request has the same practitioner NPI, MBI and Appendix A service."""
    services = {sid for s in facts.services if (sid := appendix_a_service(s.code, ref)) is not None}
    if not services:
        return [skipped(DUPLICATE, "no service line belongs to an Appendix A service", "services")]
    clashes = sorted(
        {
            r.service_id
            for r in history.open_requests
            if r.packet_id != facts.packet_id
            and r.practitioner_npi == facts.practitioner.npi
            and r.mbi == facts.beneficiary.mbi
            and r.service_id in services
        }
    )
    return [
        m.Finding(
            check=DUPLICATE,
            code="DUPLICATE_REQUEST",
            severity="dismiss",
            field="services",
            message=f"An open request from the same practitioner for the same beneficiary and service ({sid}) exists.",
            suggestion="Wait for the determination of the open request.",
        )
        for sid in clashes
    ]


def check_required_elements(facts: PacketFacts, ref: ReferenceSet) -> list[m.Finding]:
    """Ask for each Table 1 element that is missing, one finding per element."""
    missing: list[tuple[str, str]] = []
    if not facts.practitioner.ptan:
        missing.append(("practitioner.ptan", "the practitioner's PTAN"))
    if facts.place_of_service in ref.facility_places_of_service:
        if facts.facility is None:
            missing.append(("facility", f"the facility (place of service {facts.place_of_service})"))
        elif not (facts.facility.ccn or facts.facility.ptan):
            missing.append(("facility.ccn", "the facility's CCN or PTAN"))
    if not facts.diagnosis_codes:
        missing.append(("diagnosis_codes", "the diagnosis codes"))
    missing.extend(
        (f"services[{i}].units", f"the units of service line {i + 1}")
        for i, line in enumerate(facts.services)
        if line.units is None or line.units < 1
    )
    if facts.requester is None:
        missing.append(("requester", "the requester's contact details"))
    else:
        for part in ("name", "phone", "fax", "email"):
            if not getattr(facts.requester, part):
                missing.append((f"requester.{part}", f"the requester's {part}"))
    if not facts.beneficiary.has_address:
        missing.append(("beneficiary.address", "the beneficiary's address"))
    if facts.review_type == "expedited" and not facts.expedited_reason:
        missing.append(("expedited_reason", "the reason for expedited review"))
    return [
        m.Finding(
            check=REQUIRED_ELEMENTS,
            code="MISSING_ELEMENT",
            severity="correction",
            field=field,
            message=f"Missing {what}.",
            suggestion=f"Ask the requester for {what}.",
        )
        for field, what in missing
    ]


def check_documentation(facts: PacketFacts) -> list[m.Finding]:
    """Ask for clinical documentation when the packet has none."""
    if facts.document_count > 0:
        return []
    return [
        m.Finding(
            check=DOCUMENTATION,
            code="MISSING_DOCUMENTATION",
            severity="correction",
            field="documents",
            message="The packet has no clinical documentation.",
            suggestion="Ask the requester for the clinical documentation supporting the service.",
        )
    ]


def check_date_of_service(facts: PacketFacts, ref: ReferenceSet) -> list[m.Finding]:
    """Ask for a correction of each date of service before the model's first one or before receipt."""
    first = ref.earliest_date_of_service
    findings = []
    for i, line in enumerate(facts.services):
        if line.date_of_service < first:
            why = f"is before {first.isoformat()}, the first date of service under WISeR"
        elif line.date_of_service < facts.received_on:
            why = "is in the past (before the request was received)"
        else:
            continue
        findings.append(
            m.Finding(
                check=DATE_OF_SERVICE,
                code="DOS_INVALID",
                severity="correction",
                field=f"services[{i}].date_of_service",
                message=f"The date of service of line {i + 1} {why}.",
                suggestion="Correct the anticipated date of service.",
            )
        )
    return findings


def check_resubmission(facts: PacketFacts, history: History) -> list[m.Finding]:
    """For a resubmission, ask for a correction unless it names a UTN we issued for the same beneficiary exactly."""
    if facts.submission_type != "resubmission":
        return []

    def mismatch(field: str, message: str, suggestion: str) -> m.Finding:
        return m.Finding(
            check=RESUBMISSION,
            code="RESUBMISSION_MISMATCH",
            severity="correction",
            field=field,
            message=message,
            suggestion=suggestion,
        )

    if not facts.previous_utn:
        return [mismatch("previous_utn", "A resubmission must name the earlier UTN.", "Add the earlier UTN.")]
    issued = history.utn(facts.previous_utn)
    if issued is None:
        return [
            mismatch("previous_utn", "The earlier UTN is not one we issued.", "Verify the UTN on the earlier letter.")
        ]
    ben = facts.beneficiary
    compared = (
        ("beneficiary.first_name", "first name", ben.first_name == issued.first_name),
        ("beneficiary.last_name", "last name", ben.last_name == issued.last_name),
        ("beneficiary.date_of_birth", "date of birth", ben.date_of_birth == issued.date_of_birth),
    )
    return [
        mismatch(
            field,
            f"The beneficiary's {what} differs from the request the UTN was issued for (it must match exactly).",
            f"Use the {what} exactly as on the earlier request.",
        )
        for field, what, same in compared
        if not same
    ]
