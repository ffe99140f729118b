"""Validation's pure rules: the checks of DOMAIN.md "How validation decides" and the outcome they lead to."""

from .checks import CHECK_CODES, DISMISSAL_ORDER
from .decision import HETS, NPPES, PECOS, decide, needed_peers, npis_to_look_up, run_checks
from .hets import AaaMeaning, aaa_meaning, aaa_meanings
from .identifiers import mbi_is_well_formed, npi_check_digit, npi_is_well_formed
from .model import (
    Beneficiary,
    Eligibility,
    Enrollment,
    Facility,
    History,
    IssuedUtn,
    NpiRecord,
    OpenRequest,
    PacketFacts,
    Practitioner,
    Requester,
    ServiceLine,
)
from .scope import LineScope, appendix_a_service, line_scope, scope_of

__all__ = [
    "CHECK_CODES",
    "DISMISSAL_ORDER",
    "HETS",
    "NPPES",
    "PECOS",
    "AaaMeaning",
    "Beneficiary",
    "Eligibility",
    "Enrollment",
    "Facility",
    "History",
    "IssuedUtn",
    "LineScope",
    "NpiRecord",
    "OpenRequest",
    "PacketFacts",
    "Practitioner",
    "Requester",
    "ServiceLine",
    "aaa_meaning",
    "aaa_meanings",
    "appendix_a_service",
    "decide",
    "line_scope",
    "mbi_is_well_formed",
    "needed_peers",
    "npi_check_digit",
    "npi_is_well_formed",
    "npis_to_look_up",
    "run_checks",
    "scope_of",
]
