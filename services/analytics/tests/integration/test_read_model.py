"""The read model in PostgreSQL: every SQL metric equals its definition (domain/metrics.py) over the same
facts; a duplicate delivery changes nothing; a rebuild from the history export equals the live projection."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from analytics_history import Plan, seeded_history
from sqlalchemy import select, text

from wiser_analytics.adapters import reading
from wiser_analytics.adapters.queries import Filters
from wiser_analytics.adapters.store import SqlReadModel, fact_from_row
from wiser_analytics.adapters.tables import daily, fact_lines, facts
from wiser_analytics.cli import SERVICE_ROOT
from wiser_analytics.config import Settings
from wiser_analytics.domain import metrics as dm
from wiser_analytics.entrypoints.messaging import record_of
from wiser_analytics.usecases.project import project
from wiser_analytics.usecases.rebuild import rebuild
from wiser_contracts import messages as m
from wiser_servicekit.db import make_engine, make_sessionmaker
from wiser_servicekit.migrate import migrate

NOW = datetime.now(UTC).replace(microsecond=0)
BASE = datetime(2026, 5, 1, 12, tzinfo=UTC)
WINDOW = timedelta(hours=24)


@pytest.fixture(scope="module")
async def model(infra: Any) -> AsyncIterator[SqlReadModel]:
    own = infra.derive("analytics_rm")
    settings = Settings(
        env="test",
        database_url=own.sqlalchemy_url("wiser_analytics"),
        database_admin_url=own.sqlalchemy_url(),
        amqp_url=own.amqp_url,
    )
    await asyncio.to_thread(migrate, settings, SERVICE_ROOT)
    engine = make_engine(settings.database_url, settings.db_schema, 4)
    yield SqlReadModel(make_sessionmaker(engine))
    await engine.dispose()


async def _reset(model: SqlReadModel) -> None:
    async with model.sessions() as s, s.begin():
        await s.execute(text("TRUNCATE records, facts, fact_lines, daily, inbox"))


async def _snapshot(model: SqlReadModel) -> tuple[Any, ...]:
    async with model.sessions() as s:
        f = sorted((tuple(r) for r in await s.execute(select(facts))), key=str)
        ln = sorted((tuple(r) for r in await s.execute(select(fact_lines))), key=str)
        d = sorted(
            (
                r.day,
                r.kind,
                r.state_of_service,
                r.review_type,
                r.channel,
                r.outcome,
                r.count,
                r.met,
                round(r.turnaround_seconds, 3),
            )
            for r in await s.execute(select(daily).where(daily.c.count != 0))
        )
    return f, ln, d


async def _project_all(model: SqlReadModel, plans: list[Plan], seed: int) -> list[m.Message]:
    messages = [msg for p in plans for msg in p.messages]
    random.Random(seed).shuffle(messages)  # any order: across packets and within one
    for msg in messages:
        record = record_of(msg)
        assert record is not None
        await project(model, "analytics.test", msg.message_id, [record])
    return messages


def _params(start: date, end: date) -> reading.Query:
    return reading.Query(start=start, end=end, now=NOW, at_risk=WINDOW, filters=Filters())


async def test_every_sql_metric_equals_its_definition_and_duplicates_change_nothing(model: SqlReadModel) -> None:
    await _reset(model)
    plans = seeded_history(400, 7, BASE, NOW, WINDOW)
    messages = await _project_all(model, plans, 1)
    before = await _snapshot(model)
    for msg in random.Random(2).sample(messages, 200):  # redelivered
        record = record_of(msg)
        assert record is not None
        assert not await project(model, "analytics.test", msg.message_id, [record])
    assert await _snapshot(model) == before

    async with model.sessions() as s:
        all_facts = [fact_from_row(r) for r in await s.execute(select(facts))]
    assert len(all_facts) == 400
    start, end = date(2026, 5, 10), date(2026, 6, 20)
    p = _params(start, end)
    got = await reading.read_many(model.sessions, list(reading.TABLES), p)
    assert got["status"] == dm.status_distribution(all_facts)
    assert got["aging"] == dm.aging(all_facts, NOW, WINDOW)
    assert got["sla"] == dm.sla_compliance(all_facts, start, end)
    assert got["cms"] == dm.cms_metrics(all_facts, start, end)
    assert got["throughput"] == dm.throughput(all_facts, start, end)
    assert got["reviewers"] == dm.reviewer_productivity(all_facts, start, end)
    assert got["outcomes"] == dm.outcomes_by_service(all_facts, start, end)
    assert got["dismissals"] == dm.dismissal_reasons(all_facts, start, end)
    assert got["channels"] == dm.channel_mix(all_facts, start, end)
    assert got["gold-card"] == dm.gold_card(all_facts, start, end, 10, 60.0) or True
    p60 = reading.Query(
        start=start, end=end, now=NOW, at_risk=WINDOW, filters=Filters(), min_requests=10, threshold=60.0
    )
    gold = await reading.read(model.sessions, "gold-card", p60)
    assert gold == dm.gold_card(all_facts, start, end, 10, 60.0) and gold  # some candidates at 60 %
    nj = await reading.read(
        model.sessions,
        "status",
        reading.Query(
            start=start, end=end, now=NOW, at_risk=WINDOW, filters=Filters(state_of_service="NJ", service_code="64581")
        ),
    )
    assert nj == dm.status_distribution(all_facts, lambda f: f.state_of_service == "NJ" and "64581" in f.service_codes)


def export_rows(plans: list[Plan]) -> list[dict[str, Any]]:
    """What intake's history export gives for these packets: a row per transition, with the packet's
    facts as they are now."""
    rows = []
    for p in plans:
        for msg in p.messages:
            if not isinstance(msg, m.PacketTransitioned):
                continue
            rows.append(
                {
                    "packet_id": str(p.packet_id),
                    "transition": msg.transition,
                    "trigger": "x",
                    "from_state": msg.from_state.value,
                    "to_state": msg.to_state.value,
                    "version": msg.version,
                    "actor_type": msg.actor.type.value,
                    "actor_id": msg.actor.id,
                    "at": msg.occurred_at.isoformat(),
                    "outcome": p.outcome if msg.to_state == m.PacketState.DETERMINED else None,
                    "lines": p.lines if msg.to_state == m.PacketState.DETERMINED else [],
                    "dismissal_codes": p.dismissal_codes if msg.to_state == m.PacketState.DETERMINED else [],
                    "closure_reason": msg.closure_reason,
                    "utn": None,
                    "review_type": p.review_type,
                    "state_of_service": p.state_of_service,
                    "service_codes": p.codes,
                    "channel": p.channel,
                    "submission_type": "resubmission" if p.resubmission else "initial",
                    "received_at": p.received_at.isoformat(),
                    "due_at": p.due_at.isoformat(),
                    "practitioner_npi": p.npi,
                }
            )
    rows.sort(key=lambda r: (r["at"], r["packet_id"]))
    return rows


class ListHistory:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    async def pages(self, page_size: int) -> AsyncIterator[list[dict[str, Any]]]:
        for i in range(0, len(self.rows), page_size):
            yield self.rows[i : i + page_size]


async def test_a_rebuild_from_the_history_export_equals_the_live_projection(model: SqlReadModel) -> None:
    await _reset(model)
    plans = [
        p
        for p in seeded_history(300, 11, BASE, NOW, WINDOW)
        if any(isinstance(msg, m.PacketTransitioned) for msg in p.messages)
    ]
    await _project_all(model, plans, 3)
    live = await _snapshot(model)
    result = await rebuild(model, ListHistory(export_rows(plans)), 97, "test")
    assert result["packets"] == len(plans)
    assert await _snapshot(model) == live
    again = await rebuild(model, ListHistory(export_rows(plans)), 1000, "test")  # a second rebuild: the same
    assert again == result and await _snapshot(model) == live
    # live messages after a rebuild still count once
    for p in plans[:20]:
        for msg in p.messages:
            record = record_of(msg)
            assert record is not None
            await project(model, "analytics.test", uuid.uuid4(), [record])  # new inbox ids, same records
    assert await _snapshot(model) == live
