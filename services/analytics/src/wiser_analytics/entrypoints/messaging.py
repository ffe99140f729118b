"""Bus entrypoints: every message analytics hears (topology.ANALYTICS) becomes a record of its packet."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from wiser_contracts import messages as m
from wiser_contracts import topology

from ..domain.facts import STABLE, Record, stable_record_id
from ..domain.history import received_data, transition_data
from ..usecases.ports import ReadModel
from ..usecases.project import project

log = logging.getLogger("wiser.analytics.messaging")


def record_of(message: m.Message) -> Record | None:
    """What a message says about its packet, normalised (ids and codes only)."""
    assert message.packet_id is not None
    pid, mid, at = message.packet_id, message.message_id, message.occurred_at

    def rec(kind: str, version: int | None, data: dict[str, Any]) -> Record:
        # Intake's events are identified by what they are (kind and packet version), not by message id: a
        # re-announced transition (same content, new message id) and the same row from the history export
        # are one record. Clinical's events keep their message ids.
        if message.producer == "intake" or kind in STABLE:
            return Record(stable_record_id(pid, kind, version), pid, kind, version, at, data)
        return Record(mid, pid, kind, version, at, data)

    if isinstance(message, m.PacketReceived):
        return rec("received", 0, received_data(message.model_dump(mode="json")))
    if isinstance(message, m.PacketTransitioned):
        body = message.model_dump(mode="json")
        body["actor_type"], body["actor_id"] = message.actor.type.value, message.actor.id
        body["from_state"], body["to_state"] = message.from_state.value, message.to_state.value
        return rec("transition", message.version, transition_data(body))
    if isinstance(message, m.PacketSlaBreached):
        return rec("sla_breached", None, {"state": message.state.value, "due_at": message.due_at.isoformat()})
    if isinstance(message, m.PacketCorrected):
        return rec("corrected", message.version, {"fields": list(message.fields)})
    if isinstance(message, m.PacketUtnRecorded):
        return rec("utn_recorded", message.version, {"utn": message.utn})
    if isinstance(message, m.PacketReclassified):
        return rec(
            "reclassified", message.version, {"review_type": message.review_type, "due_at": message.due_at.isoformat()}
        )
    if isinstance(message, m.PacketReassigned):
        return rec("reassigned", message.version, {"reviewer_id": message.reviewer_id})
    if isinstance(message, m.ReviewAssigned):
        return rec("review_assigned", message.packet_version, {"reviewer_id": message.reviewer_id})
    if isinstance(message, m.ReviewEscalated):
        return rec("review_escalated", message.packet_version, {"reviewer_id": message.reviewer_id})
    if isinstance(message, m.DeterminationRecorded):
        return rec(
            "determination_recorded",
            message.packet_version,
            {
                "decided_by": message.decided_by,
                "decided_by_role": message.decided_by_role,
                "decided_at": message.decided_at.isoformat(),
                "outcome": message.outcome.value,
                "lines": [{"code": ln.code, "outcome": ln.outcome.value} for ln in message.lines],
            },
        )
    return None


def make_handlers(model: ReadModel) -> dict[str, Callable[[Any], Awaitable[None]]]:
    def handler(key: str) -> Callable[[Any], Awaitable[None]]:
        async def handle(message: m.Message) -> None:
            if message.packet_id is None:
                log.warning("message without packet id ignored", extra={"message_id": str(message.message_id)})
                return
            record = record_of(message)
            if record is None:
                return
            await project(model, key, message.message_id, [record])

        return handle

    return {i.message.TYPE: handler(topology.ANALYTICS.inbox_key(i)) for i in topology.ANALYTICS.interests}
