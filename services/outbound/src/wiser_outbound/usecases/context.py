"""What the use cases need, composed by bootstrap (tests compose fakes)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ..domain.retry import Breakers, Schedule
from .ports import Channel, LetterSource, PacketSource, Sealer, UnitOfWork, WebhookSender


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Outbound:
    uow: Callable[[], UnitOfWork]
    intake: PacketSource
    letters: LetterSource
    webhooks: WebhookSender
    sealer: Sealer
    schedules: dict[str, Schedule]
    breakers: Breakers
    channels: dict[str, Channel] = field(default_factory=dict)  # fax, mail, esmd, email
    clock: Callable[[], datetime] = utcnow
    batch: int = 20
    claim_seconds: float = 120.0
    # How long handled events are kept for a webhook registration that reaches outbound after them.
    catch_up: timedelta = timedelta(hours=1)
    sessions: Any = None  # the read side's (usecases/queries.py) session factory
