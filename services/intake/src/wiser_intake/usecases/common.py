"""What intake's use cases share: the clock, the system actor, incoming documents, outcome mapping."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from wiser_contracts import messages as m
from wiser_servicekit.identity import Identity

from ..domain import state_machine as sm
from . import errors
from .transitions import NotFound, Rejected, Result

log = logging.getLogger("wiser.intake.packets")

SYSTEM = m.Actor(type=m.ActorType.SYSTEM, id="intake")
OPEN_STATES = tuple(s.value for s in sm.BEFORE_DETERMINATION)


@dataclass
class IncomingDocument:
    """A document already checked (type sniffed, size measured, hashed) and ready to store."""

    document_id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    category: str
    fileobj: IO[bytes]


def now() -> datetime:
    return datetime.now(UTC)


def request_hash(packet_json: dict[str, Any], docs: list[IncomingDocument]) -> str:
    canonical = json.dumps(packet_json, sort_keys=True, separators=(",", ":"), default=str)
    h = hashlib.sha256(canonical.encode())
    for d in docs:
        h.update(d.sha256.encode())
    return h.hexdigest()


# ----------------------------------------------------------------------------------------- reads


def _iso(d: datetime | None) -> str | None:
    return d.isoformat().replace("+00:00", "Z") if d else None


def summary_of(row: Any) -> dict[str, Any]:
    """What submitting answers: the packet's ids, state and clock."""
    return {
        "packet_id": str(row.id),
        "tracking_number": row.tracking_number,
        "state": row.state,
        "review_type": row.review_type,
        "received_at": _iso(row.received_at),
        "due_at": _iso(row.due_at),
    }


def not_found() -> errors.NotFound:
    return errors.packet_not_found()


# --------------------------------------------------------------------------------- changes


def _actor(identity: Identity) -> m.Actor:
    return m.Actor(type=m.ActorType.USER, id=identity.user_id, roles=tuple(sorted(identity.roles)))


def _raise_for(result: Result) -> None:
    if isinstance(result, NotFound):
        raise not_found()
    if isinstance(result, Rejected):
        if result.reject.code == "VERSION_MISMATCH":
            raise errors.Stale("VERSION_MISMATCH", f"{result.reject.detail}; reload it and apply your changes again.")
        if result.reject.code == "ROLE_FORBIDDEN":
            raise errors.Forbidden(result.reject.code, result.reject.detail)
        raise errors.NotAllowed(result.reject.code, result.reject.detail)
