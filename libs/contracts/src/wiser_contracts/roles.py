"""The people's roles (ARCHITECTURE.md, Security) and the groups the rules name, in one place.

Every service's authorization and the state machine's rules use these names; identity tokens carry them.
"""

from __future__ import annotations

OPS_TIER1 = "ops_tier1"
OPS_TIER2 = "ops_tier2"
SUPERVISOR = "supervisor"
CLINICAL_REVIEWER = "clinical_reviewer"
MEDICAL_DIRECTOR = "medical_director"
MANAGER = "manager"
ADMIN = "admin"
AUDITOR = "auditor"
SERVICE = "service"  # another service's own calls (never a person)

PEOPLE: tuple[str, ...] = (
    OPS_TIER1,
    OPS_TIER2,
    SUPERVISOR,
    CLINICAL_REVIEWER,
    MEDICAL_DIRECTOR,
    MANAGER,
    ADMIN,
    AUDITOR,
)
ALL: tuple[str, ...] = (*PEOPLE, SERVICE)

CORRECTORS = frozenset({OPS_TIER1, OPS_TIER2, SUPERVISOR})  # T5: corrections, validation re-runs
DISMISSERS = frozenset({OPS_TIER2, SUPERVISOR})  # T6 dismissal, T18 delivery retry
WITHDRAWERS = frozenset({SUPERVISOR})  # T19 on a requester's behalf
ADMINS = frozenset({ADMIN})
AUDITORS = frozenset({AUDITOR, ADMIN})
LETTER_APPROVERS = frozenset({CLINICAL_REVIEWER, MEDICAL_DIRECTOR, SUPERVISOR})  # T14/T15: approve or reject letters
AUTO_AFFIRMATION_POLICY = "policy:auto-affirmation"  # T14: the only non-person approver, affirmations only
