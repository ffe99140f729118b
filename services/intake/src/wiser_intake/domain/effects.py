"""What entering a state does to a packet: the columns each transition sets (dismissals, determinations,
closure)."""

from __future__ import annotations

from typing import Any

from wiser_contracts import messages as m
from wiser_contracts.messages import Outcome

from .guards import validated
from .triggers import (
    Effect,
    PacketView,
    Trigger,
)


def next_validation_run(view: PacketView, _: Trigger) -> dict[str, Any]:
    return {"validation_run": view.validation_run + 1}


def dismissed(
    t: Trigger, reasons: list[dict[str, Any]], note: str | None = None, corrective_action: str = ""
) -> dict[str, Any]:
    """The texts the decision was made with are kept with it: a later reference change rewrites nothing."""
    main = reasons[0]
    dismissal: dict[str, Any] = {
        "code": main["code"],
        "reason": main["reason"],
        "corrective_action": corrective_action,
        "all": reasons,
    }
    if note is not None:
        dismissal["note"] = note
    determination = {"outcome": Outcome.DISMISSED.value, "decided_by": t.actor.id, "decided_at": t.at.isoformat()}
    return {"determination": {**determination, "lines": []}, "dismissal": dismissal}


def dismissed_by_validation(_: PacketView, t: Trigger) -> dict[str, Any]:
    reasons = validated(t).dismissal_reasons
    return dismissed(
        t, [{"code": r.code, "reason": r.reason} for r in reasons], corrective_action=reasons[0].corrective_action
    )


def dismissed_by_ops(_: PacketView, t: Trigger) -> dict[str, Any]:
    code, reason = t.data["code"], t.data.get("reason_text") or ""
    action = t.data.get("corrective_action") or ""
    return dismissed(t, [{"code": code, "reason": reason}], note=t.data.get("note"), corrective_action=action)


def decided_by_a_clinician(_: PacketView, t: Trigger) -> dict[str, Any]:
    d = t.message
    assert isinstance(d, m.DeterminationRecorded)
    return {
        "determination": {
            "outcome": d.outcome.value,
            "decided_by": d.decided_by,
            "decided_by_role": d.decided_by_role,
            "decided_at": d.decided_at.isoformat(),
            "lines": [ln.model_dump(mode="json") for ln in d.lines],
            "rationale": d.rationale,
        }
    }


def closed(reason: str) -> Effect:
    def effect(_: PacketView, __: Trigger) -> dict[str, Any]:
        return {"closure_reason": reason}

    return effect


DETERMINATIONS: frozenset[Effect] = frozenset({dismissed_by_validation, dismissed_by_ops, decided_by_a_clinician})
DELIVERED, WITHDRAWN = closed("delivered"), closed("withdrawn")
