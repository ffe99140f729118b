"""Where and what: the state of service is one this deployment serves; a service line is under WISeR."""

from __future__ import annotations

from collections.abc import Collection

from wiser_contracts import messages as m
from wiser_validation.reference import ReferenceSet

from ..model import PacketFacts
from ..scope import scope_of
from .common import JURISDICTION, SERVICE_SCOPE


def served_states(ref: ReferenceSet, served: Collection[str] | None = None) -> frozenset[str]:
    """The states this deployment serves: the `served` setting (default: every WISeR state), never a state
    outside the WISeR states of the reference data in force."""
    wiser = frozenset(ref.states)
    if served is None:
        return wiser
    return wiser & {s.strip().upper() for s in served}


def check_jurisdiction(facts: PacketFacts, ref: ReferenceSet, served: Collection[str] | None = None) -> list[m.Finding]:
    """Dismiss a packet whose state of service this deployment does not serve (the `served` setting)."""
    states = served_states(ref, served)
    if facts.state in states:
        return []
    listed = ", ".join(sorted(states)) or "none"
    return [
        m.Finding(
            check=JURISDICTION,
            code="WRONG_JURISDICTION",
            severity="dismiss",
            field="state",
            message=f"State of service {facts.state or '(none)'} is not served here (served: {listed}).",
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
        setting = ref.scope.excluded_places_of_service.get(facts.place_of_service or "")
        return [
            m.Finding(
                check=SERVICE_SCOPE,
                code="NON_WISER_SERVICE",
                severity="dismiss",
                field="place_of_service" if setting else "services",
                message=f"Services in {setting} are not under WISeR."
                if setting
                else "No service line is under WISeR for this state, date of service and diagnoses.",
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
