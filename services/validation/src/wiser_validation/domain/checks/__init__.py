"""Every check of DOMAIN.md "How validation decides", one small pure function each, grouped by what they look at:
where and what (`service`), who (`beneficiary`), by whom (`provider`), and the request itself (`request`).

A check returns the findings it has (none when it passes). Messages carry codes and field names, never PHI.
"""

from .beneficiary import check_beneficiary, check_mbi_format, check_medicare_coverage
from .common import (
    BENEFICIARY,
    CHECK_CODES,
    DATE_OF_SERVICE,
    DISMISSAL_ORDER,
    DOCUMENTATION,
    DUPLICATE,
    EXEMPTION,
    JURISDICTION,
    MBI_FORMAT,
    MEDICARE_COVERAGE,
    NPI_ACTIVE,
    NPI_FORMAT,
    PEERS,
    PROVIDER_ENROLLMENT,
    REQUIRED_ELEMENTS,
    RESUBMISSION,
    SERVICE_SCOPE,
    peer_unavailable,
    skipped,
)
from .provider import check_exemption, check_npi_active, check_npi_format, check_provider_enrollment
from .request import (
    check_date_of_service,
    check_documentation,
    check_duplicate,
    check_required_elements,
    check_resubmission,
    local_today,
)
from .service import check_jurisdiction, check_service_scope, served_states

__all__ = [
    "BENEFICIARY",
    "CHECK_CODES",
    "DATE_OF_SERVICE",
    "DISMISSAL_ORDER",
    "DOCUMENTATION",
    "DUPLICATE",
    "EXEMPTION",
    "JURISDICTION",
    "MBI_FORMAT",
    "MEDICARE_COVERAGE",
    "NPI_ACTIVE",
    "NPI_FORMAT",
    "PEERS",
    "PROVIDER_ENROLLMENT",
    "REQUIRED_ELEMENTS",
    "RESUBMISSION",
    "SERVICE_SCOPE",
    "check_beneficiary",
    "check_date_of_service",
    "check_documentation",
    "check_duplicate",
    "check_exemption",
    "check_jurisdiction",
    "check_mbi_format",
    "check_medicare_coverage",
    "check_npi_active",
    "check_npi_format",
    "check_provider_enrollment",
    "check_required_elements",
    "check_resubmission",
    "check_service_scope",
    "local_today",
    "peer_unavailable",
    "served_states",
    "skipped",
]
