"""Clinical's unit of work on its migrated schema: the database itself refuses a second active assignment, a
UTN is recorded once, and the use cases run the same over SQL as over the fakes."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from wiser_clinical.adapters.repository import SqlUnitOfWork
from wiser_clinical.adapters.tables import assignments
from wiser_clinical.cli import SERVICE_ROOT
from wiser_clinical.config import Settings
from wiser_clinical.domain.model import Assignment, Case, Licence, Line, Reviewer, Stage, Status
from wiser_clinical.reference import load_checklists
from wiser_clinical.usecases import assignment, review
from wiser_clinical.usecases.ports import Clinical, PeerToPeer
from wiser_clinical.usecases.utn import request_due_utns
from wiser_contracts import messages as m
from wiser_servicekit.db import make_engine, make_sessionmaker
from wiser_servicekit.identity import Identity
from wiser_servicekit.migrate import migrate

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


class Mac:
    async def utn(self, packet_id: uuid.UUID, state: str, outcome: str) -> str:
        return f"JLA26{packet_id.int % 10**9:09d}"


def case(pid: uuid.UUID) -> Case:
    return Case(
        pid, "WSR-1", Status.QUEUED, 3, "NJ", "standard", NOW, NOW + timedelta(days=3), (Line(1, "64483", 1),),
        service_id="epidural_steroid_injections", enqueued_at=NOW,
    )  # fmt: skip


@pytest.fixture
async def sessions(infra):  # type: ignore[no-untyped-def]
    settings = Settings(
        env="test", database_url=infra.sqlalchemy_url("wiser_clinical"), database_admin_url=infra.sqlalchemy_url()
    )
    await asyncio.to_thread(migrate, settings, SERVICE_ROOT)
    engine = make_engine(settings.database_url, settings.db_schema, 4)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def test_the_database_refuses_a_second_active_assignment(sessions) -> None:  # type: ignore[no-untyped-def]
    pid = uuid.uuid4()
    async with SqlUnitOfWork(sessions) as uow:
        await uow.add_case(case(pid))
        assert await uow.assign(Assignment(pid, "a", Stage.NURSE, "system", NOW))
        assert not await uow.assign(Assignment(pid, "b", Stage.NURSE, "system", NOW))  # refused, txn still usable
        await uow.commit()
    async with sessions() as session, session.begin():
        with pytest.raises(IntegrityError):
            await session.execute(
                assignments.insert().values(
                    packet_id=pid, reviewer_id="c", stage="nurse", assigned_by="x", assigned_at=NOW
                )
            )


async def test_affirmation_over_sql_gives_one_utn_event(sessions) -> None:  # type: ignore[no-untyped-def]
    class Intake:
        async def packet(self, packet_id, *, view="full"):  # type: ignore[no-untyped-def]
            return {}

        async def document(self, packet_id, document_id):  # type: ignore[no-untyped-def]
            return "application/pdf", "x.pdf", b""

    ctx = Clinical(
        uow=lambda: SqlUnitOfWork(sessions),
        intake=Intake(),
        mac=Mac(),
        checklists=load_checklists(date(2026, 3, 2)),
        peer_to_peer=PeerToPeer("p", "h", "w"),
        now=lambda: datetime.now(UTC),
    )
    nurse = Reviewer(
        "n", "clinical_reviewer", 3, tuple(Licence(s, date(2030, 1, 1)) for s in ("NJ",)),
        frozenset({"epidural_steroid_injections"}),
    )  # fmt: skip
    pid = uuid.uuid4()
    async with SqlUnitOfWork(sessions) as uow:
        await uow.save_reviewer(nurse)
        await uow.add_case(case(pid))
        await uow.commit()
    assert await assignment.assign_waiting(ctx) == 1
    who = Identity("n", frozenset({"clinical_reviewer"}))
    items = [
        {"criterion_id": c.id, "answer": "met", "evidence": [{"page": 2, "quote": "six weeks of PT"}]}
        for c in ctx.checklists.services["epidural_steroid_injections"].criteria
    ]
    await review.answer(ctx, who, pid, items)
    await review.affirm(ctx, who, pid, None)
    assert await request_due_utns(ctx) == 1
    assert await request_due_utns(ctx) == 0
    async with SqlUnitOfWork(sessions) as uow:
        row = await uow.utn_request(pid)
        assert row is not None and row["status"] == "assigned" and row["utn"].startswith("JLA26")
        assert (await uow.case(pid)).status == Status.DETERMINED  # type: ignore[union-attr]
        assert (await uow.loads()).get("n", 0) == 0  # capacity freed
    async with sessions() as session:
        from sqlalchemy import text

        types = (
            (
                await session.execute(
                    text("SELECT type FROM clinical.outbox WHERE packet_id = :p ORDER BY id"), {"p": pid}
                )
            )
            .scalars()
            .all()
        )
    assert types == [m.ReviewAssigned.TYPE, m.DeterminationRecorded.TYPE, m.UtnAssigned.TYPE]
