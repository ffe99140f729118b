"""Letters' use-case context (its unit of work, peers, store, renderer, clock and policy) and what a
drafting step answers."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from ..domain.model import (
    Contact,
)
from .ports import (
    ClinicalPort,
    Clock,
    IntakePort,
    ObjectStore,
    ReferencePort,
    Renderer,
    UnitOfWork,
)

SYSTEM = "letters"


@dataclass
class Letters:
    """Letters' use-case context: its unit of work, peers, store, renderer, clock and policy."""

    uow: Callable[[], UnitOfWork]
    intake: IntakePort
    clinical: ClinicalPort
    reference: ReferencePort
    store: ObjectStore
    render: Renderer
    clock: Clock
    contact: Contact
    auto_approve_affirmations: bool = False
    default_peer_to_peer: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    status: str
    version: int
    set_id: uuid.UUID
    reason: str | None = None
