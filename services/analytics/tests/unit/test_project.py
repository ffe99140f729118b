"""The projection use case against an in-memory read model: duplicates change nothing; the fold and the
daily table follow every record."""

from __future__ import annotations

import uuid

from analytics_builders import journey

from wiser_analytics.domain.facts import fold
from wiser_analytics.usecases.project import project

from .fakes import MemoryModel


async def test_a_duplicate_delivery_changes_nothing_and_reversed_order_gives_the_same_fact() -> None:
    pid = uuid.uuid4()
    records = journey(pid)
    model = MemoryModel()
    for r in records:
        assert await project(model, "analytics.on_x", r.record_id, [r])
    snapshot = (dict(model.facts), {k: v for k, v in model.daily.items() if v[0]})
    for r in records:
        assert not await project(model, "analytics.on_x", r.record_id, [r])
    assert (dict(model.facts), {k: v for k, v in model.daily.items() if v[0]}) == snapshot

    reversed_model = MemoryModel()
    for r in reversed(records):
        await project(reversed_model, "analytics.on_x", r.record_id, [r])
    assert reversed_model.facts == model.facts == {pid: fold(pid, records)}
    assert {k: v for k, v in reversed_model.daily.items() if v[0]} == snapshot[1]
