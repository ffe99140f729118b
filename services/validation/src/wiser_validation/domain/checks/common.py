"""The checks' names, the code each reports under, and the findings every check shares (skipped, peer down)."""

from __future__ import annotations

from wiser_contracts import messages as m

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


def peer_unavailable(check: str, field: str | None = None, why: str | None = None) -> m.Finding:
    """Report that the peer `check` needs did not answer (or, with `why`, answered nothing usable)."""
    peer = PEERS[check]
    reason = why or f"{peer} could not be reached after retries"
    return m.Finding(
        check=check,
        code="PEER_UNAVAILABLE",
        severity="correction",
        field=field,
        message=f"{reason}; the {check.replace('_', ' ')} check did not run.",
        suggestion="Run validation again once the peer is back, or verify by hand.",
    )
