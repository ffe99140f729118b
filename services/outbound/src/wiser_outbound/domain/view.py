"""The packet as a partner sees it (PARTNER_API.md "Tracking"), as it was at one version.

Built from intake's ops detail, read when the event is handled: the history is cut at the event's version,
the state is the one the event reports, and what came later (a determination, letters, a closure, a
reclassification) is left out, so a webhook carries the packet as it was when the event happened.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

EXPEDITED_DAYS = 2  # DOMAIN.md: expedited 2 calendar days, standard 3
AFTER_DETERMINATION = {"determined", "letter_review", "delivering", "delivery_failed", "closed"}
WITH_LETTERS = {"letter_review", "delivering", "delivery_failed", "closed"}


def _at(history: list[dict[str, Any]], version: int) -> list[dict[str, Any]]:
    return [h for h in history if h.get("version") is None or h["version"] <= version]


def view_as_of(detail: dict[str, Any], version: int, state: str | None = None) -> dict[str, Any]:
    history = detail.get("history") or []
    kept = _at(history, version)
    later = [h for h in history if h.get("version") is not None and h["version"] > version]
    state = state or (kept[-1]["to"] if kept else detail["state"])
    review_type, due_at = detail["review_type"], detail["due_at"]
    if any(h.get("transition") == "reclassified" for h in later):
        # It was still expedited then, on the expedited clock from receipt.
        review_type = "expedited"
        due_at = (datetime.fromisoformat(detail["received_at"]) + timedelta(days=EXPEDITED_DAYS)).isoformat()
    determination = detail.get("determination") if state in AFTER_DETERMINATION else None
    if determination is not None and any(h.get("transition") == "utn_recorded" for h in later):
        determination = {**determination, "utn": None}
    dismissal = None
    raw = detail.get("dismissal")
    if raw and state in AFTER_DETERMINATION:
        dismissal = {"code": raw.get("code"), "reason": raw.get("reason", ""), "all": raw.get("all", [])}
    letters = []
    if state in WITH_LETTERS:
        letters = [
            {
                "letter_id": lt["letter_id"],
                "kind": lt["kind"],
                "url": f"/api/v1/packets/{detail['packet_id']}/letters/{lt['letter_id']}",
            }
            for lt in detail.get("letters") or []
        ]
    return {
        "packet_id": detail["packet_id"],
        "tracking_number": detail["tracking_number"],
        "external_ref": detail.get("external_ref"),
        "state": state,
        "review_type": review_type,
        "received_at": detail["received_at"],
        "due_at": due_at,
        "updated_at": kept[-1]["at"] if kept else detail.get("updated_at"),
        "closure_reason": detail.get("closure_reason") if state == "closed" else None,
        "determination": determination,
        "dismissal": dismissal,
        "letters": letters,
        "history": [{"from": h["from"], "to": h["to"], "at": h["at"]} for h in kept],
    }
