"""Who: the MBI is well formed, HETS knows the beneficiary by that name and date of birth, Original Medicare."""

from __future__ import annotations

from wiser_contracts import messages as m

from ..identifiers import mbi_is_well_formed
from ..model import Eligibility, PacketFacts
from .common import BENEFICIARY, MBI_FORMAT, MEDICARE_COVERAGE, peer_unavailable, skipped

SUBMITTER_PROBLEM = "HETS refused our own submitter set-up, not this request (ops have been alerted)"


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


def _not_asked(check: str, facts: PacketFacts, eligibility: Eligibility | None) -> list[m.Finding] | None:
    """The finding when eligibility has nothing to say for `check` (malformed MBI, not asked, peer down)."""
    if not mbi_is_well_formed(facts.beneficiary.mbi):
        return [skipped(check, "the MBI is malformed", "beneficiary.mbi")]
    if eligibility is None:
        return [skipped(check, "eligibility was not looked up", "beneficiary.mbi")]
    if eligibility.status == "unavailable":
        why = SUBMITTER_PROBLEM if eligibility.submitter_problem else None
        return [peer_unavailable(check, "beneficiary.mbi", why)]
    return None


def _mismatch(field: str, what: str, message: str) -> m.Finding:
    return m.Finding(
        check=BENEFICIARY,
        code="BENEFICIARY_MISMATCH",
        severity="correction",
        field=field,
        message=message,
        suggestion=f"Correct the {what} to match the Medicare card.",
    )


def check_beneficiary(facts: PacketFacts, eligibility: Eligibility | None) -> list[m.Finding]:
    """Check the beneficiary is known to eligibility, alive on the dates of service, and named as on file."""
    if (early := _not_asked(BENEFICIARY, facts, eligibility)) is not None:
        return early
    assert eligibility is not None
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
    if eligibility.status == "mismatch":
        # HETS says which part does not match, never what is on file.
        findings = []
        if eligibility.name_mismatch:
            findings += [
                _mismatch(field, what, "HETS reports that the beneficiary's name does not match the MBI on file.")
                for field, what in (("beneficiary.first_name", "first name"), ("beneficiary.last_name", "last name"))
            ]
        if eligibility.dob_mismatch:
            findings.append(
                _mismatch(
                    "beneficiary.date_of_birth",
                    "date of birth",
                    "HETS reports that the date of birth does not match the MBI on file.",
                )
            )
        return findings
    findings = []
    dates = sorted(s.date_of_service for s in facts.services)
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
        _mismatch(field, what, f"The beneficiary's {what} does not match eligibility for this MBI.")
        for field, what, same in compared
        if not same
    )
    return findings


def _same_name(given: str, on_file: str | None) -> bool:
    # HETS matches names without regard to case or repeated spaces.
    return on_file is not None and " ".join(given.split()).casefold() == " ".join(on_file.split()).casefold()


def check_medicare_coverage(facts: PacketFacts, eligibility: Eligibility | None) -> list[m.Finding]:
    """Dismiss unless Part B is in effect on every date of service without MA, Railroad or Medicaid-only
    coverage; say so when HETS was asked about today instead of the dates of service."""
    if (early := _not_asked(MEDICARE_COVERAGE, facts, eligibility)) is not None:
        return early
    assert eligibility is not None
    if eligibility.status == "not_found":
        return [skipped(MEDICARE_COVERAGE, "eligibility does not know the MBI", "beneficiary.mbi")]
    if eligibility.status == "mismatch":
        return [skipped(MEDICARE_COVERAGE, "eligibility did not confirm the beneficiary", "beneficiary.mbi")]
    findings = []
    if eligibility.asked_for is not None:
        findings.append(
            m.Finding(
                check=MEDICARE_COVERAGE,
                code="ELIGIBILITY_DATE_SUBSTITUTED",
                severity="info",
                field="services",
                message="HETS does not answer for these dates of service; it was asked about "
                f"{eligibility.asked_for.isoformat()} instead and coverage was read from the periods it gave.",
                suggestion="Check eligibility again nearer the date of service.",
            )
        )
    problems = []
    if eligibility.medicaid_only:
        problems.append("the beneficiary has Medicaid only")
    elif not eligibility.part_b_active_on_dos:
        problems.append("Part B is not in effect on every date of service")
    if eligibility.medicare_advantage_on_dos:
        problems.append("the beneficiary is in a Medicare Advantage plan on a date of service")
    if eligibility.railroad:
        problems.append("the beneficiary is covered by Railroad Medicare")
    findings.extend(
        m.Finding(
            check=MEDICARE_COVERAGE,
            code="NOT_ORIGINAL_MEDICARE",
            severity="dismiss",
            field="beneficiary.mbi",
            message=f"Not Original Medicare: {problem}.",
            suggestion="Contact the beneficiary's plan.",
        )
        for problem in problems
    )
    return findings
