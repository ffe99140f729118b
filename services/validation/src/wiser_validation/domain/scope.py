"""Which service lines of a packet are under WISeR (Appendix A, B, C and the scope rules)."""

from __future__ import annotations

from dataclasses import dataclass

from wiser_validation.reference import ReferenceSet, normalize_icd10

from .model import PacketFacts, ServiceLine


@dataclass(frozen=True)
class LineScope:
    """The verdict on one service line: its Appendix A service when in scope, else why not."""

    index: int
    code: str
    service_id: str | None
    in_scope: bool
    reason: str


def appendix_a_service(code: str, ref: ReferenceSet) -> str | None:
    """The id of the Appendix A service `code` belongs to, whatever the state, date or diagnoses."""
    service = ref.service_of(code)
    return service.id if service else None


def line_scope(index: int, line: ServiceLine, facts: PacketFacts, ref: ReferenceSet) -> LineScope:
    """Decide whether one service line is under WISeR for the packet's state, its date of service and diagnoses."""
    code = line.code.strip().upper()
    rules = ref.scope

    def out(reason: str, service_id: str | None = None) -> LineScope:
        return LineScope(index=index, code=code, service_id=service_id, in_scope=False, reason=reason)

    if code in rules.other_program_codes:
        return out(f"{code} {rules.other_program_reason}")
    if code in rules.associated_codes:
        return out(f"{code} is an {rules.associated_reason}")
    service = ref.service_of(code)
    if service is None:
        return out(f"{code} is not on the WISeR service list (Appendix A)")
    sid = service.id
    setting = rules.excluded_places_of_service.get(facts.place_of_service or "")
    if setting is not None:
        return out(f"{code} in {setting}: {rules.excluded_places_of_service_reason}", sid)
    if rules.excluded_modifiers & set(line.modifiers):
        return out(f"{code}: {rules.excluded_modifiers_reason}", sid)
    if facts.state in service.excluded_states:
        return out(f"{code} ({service.name}) is not under WISeR in {facts.state}", sid)
    listed = next(c for c in service.codes if c.code == code)
    if not listed.covers(line.date_of_service):
        since = f" before {listed.dos_from.isoformat()}" if listed.dos_from else ""
        return out(f"{code} is not under WISeR for a date of service{since}", sid)
    packet_codes = {s.code.strip().upper() for s in facts.services}
    for companion in rules.requires_companion:
        if companion.code == code and not companion.with_any & packet_codes:
            return out(companion.reason, sid)
    diagnoses = {normalize_icd10(dx) for dx in facts.diagnosis_codes}
    for exclusion in rules.excluded_with_diagnosis:
        if exclusion.code == code and exclusion.diagnoses & diagnoses:
            return out(exclusion.reason, sid)
    if service.diagnosis_list is not None:
        allowed = ref.diagnosis_lists[service.diagnosis_list]
        if not any(allowed.contains(dx) for dx in diagnoses):
            return out(f"{code} is under WISeR only with an Appendix B diagnosis for {service.name}", sid)
    return LineScope(index=index, code=code, service_id=sid, in_scope=True, reason="")


def scope_of(facts: PacketFacts, ref: ReferenceSet) -> tuple[LineScope, ...]:
    """Decide every service line of the packet."""
    return tuple(line_scope(i, line, facts, ref) for i, line in enumerate(facts.services))
