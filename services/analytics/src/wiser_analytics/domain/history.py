"""Records from intake's history export (HTTP_CONTRACTS.md), shaped as the live events' records are."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from .facts import Record, history_record_id


def records_from_history(rows: Iterable[dict[str, Any]], seen: set[uuid.UUID] | None = None) -> list[Record]:
    """One `received` record per packet (its facts from the export) and one `transition` record per state
    change; changes in place (from = to) are left out: analytics keeps its own records of those events.
    `seen`: the packets whose `received` record an earlier page already gave."""
    out: list[Record] = []
    seen = set() if seen is None else seen
    for row in rows:
        packet_id = uuid.UUID(row["packet_id"])
        if packet_id not in seen:
            seen.add(packet_id)
            received_at = datetime.fromisoformat(row["received_at"])
            out.append(
                Record(
                    history_record_id(packet_id, "received", 0),
                    packet_id,
                    "received",
                    0,
                    received_at,
                    received_data(row),
                )
            )
        if row["from_state"] == row["to_state"]:
            continue
        out.append(
            Record(
                history_record_id(packet_id, "transition", row["version"]),
                packet_id,
                "transition",
                row["version"],
                datetime.fromisoformat(row["at"]),
                transition_data(row),
            )
        )
    return out


def received_data(d: dict[str, Any]) -> dict[str, Any]:
    """The `received` record's data (from a PacketReceived body or an export row)."""
    return {
        "channel": d.get("channel"),
        "review_type": d.get("review_type"),
        "state_of_service": d.get("state_of_service"),
        "service_codes": list(d.get("service_codes") or ()),
        "received_at": _iso(d.get("received_at")),
        "due_at": _iso(d.get("due_at")),
        "submission_type": d.get("submission_type"),
        "practitioner_npi": d.get("practitioner_npi"),
    }


def transition_data(d: dict[str, Any]) -> dict[str, Any]:
    """The `transition` record's data (from a PacketTransitioned body or an export row)."""
    return {
        "transition": d.get("transition"),
        "from_state": d.get("from_state"),
        "to_state": d.get("to_state"),
        "actor_type": d.get("actor_type"),
        "actor_id": d.get("actor_id"),
        "outcome": d.get("outcome"),
        "lines": [{"code": ln["code"], "outcome": ln["outcome"]} for ln in d.get("lines") or ()],
        "dismissal_codes": list(d.get("dismissal_codes") or ()),
        "closure_reason": d.get("closure_reason"),
    }


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return datetime.fromisoformat(str(value)).isoformat()
