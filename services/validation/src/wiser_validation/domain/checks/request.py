"""The request itself: not a duplicate, complete, documented, dated for the future, a true resubmission."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from wiser_contracts import messages as m
from wiser_validation.reference import ReferenceSet

from ..model import History, PacketFacts
from ..scope import appendix_a_service
from .common import DATE_OF_SERVICE, DOCUMENTATION, DUPLICATE, REQUIRED_ELEMENTS, RESUBMISSION, skipped


def check_duplicate(facts: PacketFacts, history: History, ref: ReferenceSet) -> list[m.Finding]:
    """Dismiss when an open request received earlier (intake's receipt order) has the same practitioner NPI, MBI
    and Appendix A service; `history.open_requests` holds only requests received before this one."""
    services = {sid for s in facts.services if (sid := appendix_a_service(s.code, ref)) is not None}
    if not services:
        return [skipped(DUPLICATE, "no service line belongs to an Appendix A service", "services")]
    clashes = sorted(
        {
            r.service_id
            for r in history.open_requests
            if r.packet_id != facts.packet_id
            and r.received_before(facts)
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


def local_today(state: str, ref: ReferenceSet, now: datetime) -> date:
    """Today in the state of service's time zone (UTC for a state without one in the reference data)."""
    served = ref.states.get(state)
    zone = ZoneInfo(served.time_zone) if served is not None and served.time_zone else UTC
    return now.astimezone(zone).date()


def check_date_of_service(facts: PacketFacts, ref: ReferenceSet, now: datetime) -> list[m.Finding]:
    """Ask for a correction of each date of service before the model's first one, or before today in the state
    of service's time zone (judged at this run, `now`, not at receipt)."""
    first = ref.earliest_date_of_service
    today = local_today(facts.state, ref, now)
    findings = []
    for i, line in enumerate(facts.services):
        if line.date_of_service < first:
            why = f"is before {first.isoformat()}, the first date of service under WISeR"
        elif line.date_of_service < today:
            why = f"is in the past (today is {today.isoformat()} in {facts.state or 'the state of service'})"
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
