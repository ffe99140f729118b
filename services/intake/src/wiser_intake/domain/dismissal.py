"""A dismissal reason as the reference list states it (validation's reference data is the one source)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DismissalReason:
    code: str
    reason: str
    corrective_action: str
