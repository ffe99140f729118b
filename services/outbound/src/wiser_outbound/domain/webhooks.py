"""Partner webhooks (PARTNER_API.md): which events a bus message makes, the body, the signature."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

TRANSITIONED = "packet.transitioned"
DETERMINED = "packet.determined"
RECLASSIFIED = "packet.reclassified"
LETTER_AVAILABLE = "letter.available"
KINDS = (TRANSITIONED, DETERMINED, RECLASSIFIED, LETTER_AVAILABLE)
SIGNATURE_HEADER = "Wiser-Signature"
_NAMESPACE = uuid.UUID("5b0c3c4e-8f0e-4d55-9d7a-0a2f3f0c9e11")


@dataclass(frozen=True)
class PartnerEvent:
    kind: str
    event_id: uuid.UUID  # stable: derived from the bus message that made it, the same on every repeat
    occurred_at: datetime


def event_id(message_id: uuid.UUID, kind: str) -> uuid.UUID:
    """The event's id: the same bus message always makes the same id (a redelivery, a replay, a re-announce
    with a new message id makes a new event, which partners are told may happen)."""
    return uuid.uuid5(_NAMESPACE, f"{message_id}:{kind}")


def events_of_transition(message_id: uuid.UUID, to_state: str, occurred_at: datetime) -> list[PartnerEvent]:
    out = [PartnerEvent(TRANSITIONED, event_id(message_id, TRANSITIONED), occurred_at)]
    if to_state == "determined":
        out.append(PartnerEvent(DETERMINED, event_id(message_id, DETERMINED), occurred_at))
    return out


def body(event: PartnerEvent, packet: dict[str, Any], extra: dict[str, Any] | None = None) -> str:
    """The JSON body, serialised once: every attempt sends (and signs) exactly these bytes."""
    doc = {
        "event_id": str(event.event_id),
        "type": event.kind,
        "occurred_at": event.occurred_at.isoformat(),
        "packet": packet,
        **(extra or {}),
    }
    return json.dumps(doc, separators=(",", ":"), sort_keys=False)


def signature(secret: str, timestamp: int, payload: str) -> str:
    """`Wiser-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, payload: str, now: int, tolerance: int = 300) -> bool:
    """What a partner does with the header (the e2e receiver uses it): the MAC matches and `t` is recent."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - t) > tolerance:
        return False
    expected = signature(secret, t, payload).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))
