"""What the state machine reasons about: the packet as the rules see it, a trigger, and the four answers
(`Move`, `Reject`, `Ignore`, `Wait`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wiser_contracts import messages as m
from wiser_contracts.messages import Outcome
from wiser_contracts.messages import PacketState as S

# Trigger kinds that are not bus messages.
RECEIVED = "intake.received"
OPS_CORRECT = "intake.ops.correct"
OPS_DISMISS = "intake.ops.dismiss"
WITHDRAW = "intake.withdraw"

BEFORE_DETERMINATION = frozenset(
    {S.RECEIVED, S.VALIDATING, S.MANUAL_REVIEW, S.CLINICAL_QUEUE, S.CLINICAL_REVIEW, S.MD_REVIEW}
)


@dataclass(frozen=True)
class PacketView:
    """What the rules need to know about a packet."""

    state: S
    validation_run: int = 0
    outcome: Outcome | None = None
    utn: str | None = None


@dataclass(frozen=True)
class Trigger:
    kind: str
    actor: m.Actor
    at: datetime
    message: m.Message | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    reason: str | None = None


@dataclass(frozen=True)
class Move:
    transition: str
    source: S
    target: S
    effects: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reject:
    code: str
    detail: str


@dataclass(frozen=True)
class Ignore:
    reason: str


@dataclass(frozen=True)
class Wait:
    """Not legal now, but the packet can still reach a state where it is: try again later."""

    reason: str


Decision = Move | Reject | Ignore | Wait
Guard = Callable[[PacketView, Trigger], str | Wait | None]  # a Wait: not yet, try again
Effect = Callable[[PacketView, Trigger], dict[str, Any]]
