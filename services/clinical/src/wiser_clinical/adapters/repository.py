"""The unit of work over clinical's tables (SQLAlchemy, asyncpg): repositories, outbox and inbox in one
transaction."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import date, datetime
from types import TracebackType
from typing import Any, Self

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wiser_contracts.envelope import Message
from wiser_servicekit import rawsql
from wiser_servicekit.outbox import add_to_outbox, record_in_inbox

from ..domain.assignment import Reach
from ..domain.checklist import Answer, AnswerRecord, Evidence
from ..domain.model import Assignment, Case, Licence, Line, Reviewer, Stage, Status
from .tables import answers, assignments, cases, determinations, inbox, notes, outbox, reads, reviewers, utn_requests

ASSIGNMENT_LOCK = "clinical.assignment"


def _reviewer(row: Any) -> Reviewer:
    return Reviewer(
        user_id=row.user_id,
        role=row.role,
        capacity=row.capacity,
        licences=tuple(Licence(lic["state"], date.fromisoformat(lic["expires"])) for lic in row.licences or ()),
        services=frozenset(row.services or ()),
        specialties=frozenset(row.specialties or ()),
        active=row.active,
        display_name=row.display_name,
        auto_assign=row.auto_assign,
    )


def _case(row: Any) -> Case:
    return Case(
        packet_id=row.packet_id,
        tracking_number=row.tracking_number,
        status=Status(row.status),
        packet_version=row.packet_version,
        state_of_service=row.state_of_service,
        review_type=row.review_type,
        received_at=row.received_at,
        due_at=row.due_at,
        lines=tuple(
            Line(int(ln["line_no"]), ln["code"], int(ln["units"]), ln.get("date_of_service", "")) for ln in row.lines
        ),
        service_id=row.service_id,
        urgency=row.urgency,
        summary=dict(row.summary or {}),
        checklist_version=row.checklist_version,
        declined_by=tuple(row.declined_by or ()),
        escalated_by=row.escalated_by,
        recommendation=row.recommendation,
        enqueued_at=row.enqueued_at,
    )


def _case_values(case: Case) -> dict[str, Any]:
    return {
        "tracking_number": case.tracking_number,
        "status": case.status.value,
        "packet_version": case.packet_version,
        "service_id": case.service_id,
        "state_of_service": case.state_of_service,
        "review_type": case.review_type,
        "urgency": case.urgency,
        "received_at": case.received_at,
        "due_at": case.due_at,
        "lines": [
            {"line_no": ln.line_no, "code": ln.code, "units": ln.units, "date_of_service": ln.date_of_service}
            for ln in case.lines
        ],
        "summary": case.summary,
        "checklist_version": case.checklist_version,
        "declined_by": list(case.declined_by),
        "escalated_by": case.escalated_by,
        "recommendation": case.recommendation,
        "enqueued_at": case.enqueued_at,
    }


def _assignment(row: Any) -> Assignment:
    return Assignment(row.packet_id, row.reviewer_id, Stage(row.stage), row.assigned_by, row.assigned_at)


# Clinical's own tables (its schema is the connection's search_path); values are parameters.
_CASE = "SELECT * FROM cases WHERE packet_id = $1"
_CASE_LOCKED = _CASE + " FOR UPDATE"


class SqlUnitOfWork:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self.session: AsyncSession

    async def __aenter__(self) -> Self:
        self.session = self._sessions()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self.session.rollback()
        finally:
            await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()

    # ---------------------------------------------------------------------------------------- bus

    async def emit(self, message: Message) -> None:
        await add_to_outbox(self.session, outbox, message)

    async def first_time(self, message_id: uuid.UUID, handler: str) -> bool:
        return await record_in_inbox(self.session, inbox, message_id, handler)

    # lock_assignments, reviewers, loads and case run for every queued packet (assignment runs after each):
    # prepared statements on asyncpg (rawsql).
    async def _raw(self) -> Any:
        return await rawsql.driver_connection(self.session)

    async def lock_assignments(self) -> None:
        await (await self._raw()).execute("SELECT pg_advisory_xact_lock(hashtext($1::text))", ASSIGNMENT_LOCK)

    # ---------------------------------------------------------------------------------- reviewers

    async def reviewer(self, user_id: str) -> Reviewer | None:
        row = (await self.session.execute(select(reviewers).where(reviewers.c.user_id == user_id))).first()
        return _reviewer(row) if row else None

    async def reviewers(self) -> list[Reviewer]:
        rows = await (await self._raw()).fetch("SELECT * FROM reviewers ORDER BY user_id")
        return [_reviewer(rawsql.decode(reviewers, r)) for r in rows]

    async def save_reviewer(self, reviewer: Reviewer) -> None:
        values = {
            "display_name": reviewer.display_name,
            "role": reviewer.role,
            "specialties": sorted(reviewer.specialties),
            "licences": [{"state": lic.state, "expires": lic.expires.isoformat()} for lic in reviewer.licences],
            "services": sorted(reviewer.services),
            "capacity": reviewer.capacity,
            "active": reviewer.active,
            "auto_assign": reviewer.auto_assign,
            "updated_at": func.now(),
        }
        await self.session.execute(
            insert(reviewers)
            .values(user_id=reviewer.user_id, **values)
            .on_conflict_do_update(index_elements=[reviewers.c.user_id], set_=values)
        )

    async def loads(self) -> dict[str, int]:
        rows = await (await self._raw()).fetch(
            "SELECT reviewer_id, count(*) FROM assignments WHERE active GROUP BY reviewer_id"
        )
        return {r[0]: int(r[1]) for r in rows}

    # -------------------------------------------------------------------------------------- cases

    async def case(self, packet_id: uuid.UUID, *, lock: bool = False) -> Case | None:
        row = await (await self._raw()).fetchrow(_CASE_LOCKED if lock else _CASE, packet_id)
        return _case(rawsql.decode(cases, row)) if row else None

    async def add_case(self, case: Case) -> bool:
        result = await self.session.execute(
            insert(cases)
            .values(packet_id=case.packet_id, **_case_values(case))
            .on_conflict_do_nothing(index_elements=[cases.c.packet_id])
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def save_case(self, case: Case) -> None:
        await self.session.execute(
            update(cases).where(cases.c.packet_id == case.packet_id).values(**_case_values(case), updated_at=func.now())
        )

    async def waiting_cases(self, where: Collection[Reach] | None = None) -> list[Case]:
        held = select(assignments.c.packet_id).where(assignments.c.active.is_(True))
        query = select(cases).where(
            cases.c.status.in_((Status.QUEUED.value, Status.MD_REVIEW.value)),
            cases.c.packet_id.not_in(held),
        )
        if where is not None:
            query = query.where(
                or_(
                    *(
                        and_(
                            cases.c.status == (Status.MD_REVIEW if r.stage == Stage.MD else Status.QUEUED).value,
                            cases.c.state_of_service.in_(sorted(r.states)),
                            cases.c.service_id.in_(sorted(r.services)),
                        )
                        for r in where
                    )
                )
            )
        rows = (await self.session.execute(query)).all()
        return [_case(r) for r in rows]

    async def open_cases(self) -> list[tuple[Case, Assignment | None]]:
        rows = (
            await self.session.execute(
                select(cases, assignments.c.reviewer_id.label("a_reviewer"), assignments.c.stage.label("a_stage"),
                       assignments.c.assigned_by.label("a_by"), assignments.c.assigned_at.label("a_at"))
                .select_from(
                    cases.outerjoin(
                        assignments,
                        (assignments.c.packet_id == cases.c.packet_id) & assignments.c.active.is_(True),
                    )
                )
                .where(cases.c.status.in_((Status.QUEUED.value, Status.IN_REVIEW.value, Status.MD_REVIEW.value)))
            )
        ).all()  # fmt: skip
        return [
            (
                _case(r),
                Assignment(r.packet_id, r.a_reviewer, Stage(r.a_stage), r.a_by, r.a_at) if r.a_reviewer else None,
            )
            for r in rows
        ]

    # -------------------------------------------------------------------------------- assignments

    async def active_assignment(self, packet_id: uuid.UUID) -> Assignment | None:
        row = (
            await self.session.execute(
                select(assignments).where(assignments.c.packet_id == packet_id, assignments.c.active.is_(True))
            )
        ).first()
        return _assignment(row) if row else None

    async def assign(self, assignment: Assignment) -> bool:
        try:
            async with self.session.begin_nested():
                await self.session.execute(
                    assignments.insert().values(
                        packet_id=assignment.packet_id,
                        reviewer_id=assignment.reviewer_id,
                        stage=assignment.stage.value,
                        assigned_by=assignment.assigned_by,
                        assigned_at=assignment.assigned_at,
                    )
                )
        except IntegrityError:
            return False  # assignments_one_active: someone else holds it
        return True

    async def end_assignment(self, packet_id: uuid.UUID, reason: str, at: datetime) -> Assignment | None:
        row = (
            await self.session.execute(
                update(assignments)
                .where(assignments.c.packet_id == packet_id, assignments.c.active.is_(True))
                .values(active=False, ended_at=at, end_reason=reason)
                .returning(assignments)
            )
        ).first()
        return _assignment(row) if row else None

    # ------------------------------------------------------------------- checklist, notes, decision

    async def answers(self, packet_id: uuid.UUID) -> dict[str, AnswerRecord]:
        rows = (await self.session.execute(select(answers).where(answers.c.packet_id == packet_id))).all()
        return {
            r.criterion_id: AnswerRecord(
                r.criterion_id,
                Answer(r.answer),
                tuple(Evidence(e.get("document_id"), e.get("page"), e.get("quote") or "") for e in r.evidence or ()),
                r.note,
                r.answered_by,
            )
            for r in rows
        }

    async def save_answer(self, packet_id: uuid.UUID, answer: AnswerRecord, at: datetime) -> None:
        values = {
            "answer": answer.answer.value,
            "evidence": [{"document_id": e.document_id, "page": e.page, "quote": e.quote} for e in answer.evidence],
            "note": answer.note,
            "answered_by": answer.answered_by,
            "answered_at": at,
        }
        await self.session.execute(
            insert(answers)
            .values(packet_id=packet_id, criterion_id=answer.criterion_id, **values)
            .on_conflict_do_update(index_elements=[answers.c.packet_id, answers.c.criterion_id], set_=values)
        )

    async def add_note(self, packet_id: uuid.UUID, author: str, kind: str, text: str, at: datetime) -> None:
        await self.session.execute(
            notes.insert().values(packet_id=packet_id, author=author, kind=kind, text=text, at=at)
        )

    async def notes(self, packet_id: uuid.UUID) -> list[dict[str, Any]]:
        rows = (
            await self.session.execute(select(notes).where(notes.c.packet_id == packet_id).order_by(notes.c.id))
        ).all()
        return [
            {"author": r.author, "kind": r.kind, "text": r.text, "at": r.at.isoformat().replace("+00:00", "Z")}
            for r in rows
        ]

    async def determination(self, packet_id: uuid.UUID) -> dict[str, Any] | None:
        row = (
            await self.session.execute(select(determinations).where(determinations.c.packet_id == packet_id))
        ).first()
        return dict(row._mapping) if row else None

    async def add_determination(self, packet_id: uuid.UUID, determination: dict[str, Any]) -> None:
        await self.session.execute(determinations.insert().values(packet_id=packet_id, **determination))

    async def packet_of_utn(self, utn: str) -> uuid.UUID | None:
        return await self.session.scalar(select(utn_requests.c.packet_id).where(utn_requests.c.utn == utn))  # type: ignore[no-any-return]

    # ------------------------------------------------------------------------------- UTN requests

    async def add_utn_request(self, packet_id: uuid.UUID, state: str, outcome: str, version: int) -> None:
        await self.session.execute(
            insert(utn_requests)
            .values(packet_id=packet_id, state_of_service=state, outcome=outcome, packet_version=version)
            .on_conflict_do_nothing(index_elements=[utn_requests.c.packet_id])
        )

    async def due_utn_requests(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        rows = (
            await self.session.execute(
                select(utn_requests)
                .where(utn_requests.c.status == "pending", utn_requests.c.next_attempt_at <= now)
                .order_by(utn_requests.c.next_attempt_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        return [dict(r._mapping) for r in rows]

    async def utn_request(self, packet_id: uuid.UUID) -> dict[str, Any] | None:
        row = (await self.session.execute(select(utn_requests).where(utn_requests.c.packet_id == packet_id))).first()
        return dict(row._mapping) if row else None

    async def utn_failed(self, packet_id: uuid.UUID, attempts: int, next_at: datetime, error: str) -> None:
        await self.session.execute(
            update(utn_requests)
            .where(utn_requests.c.packet_id == packet_id)
            .values(attempts=attempts, next_attempt_at=next_at, last_error=error)
        )

    async def utn_assigned(self, packet_id: uuid.UUID, utn: str, at: datetime) -> bool:
        result = await self.session.execute(
            update(utn_requests)
            .where(utn_requests.c.packet_id == packet_id, utn_requests.c.status == "pending")
            .values(status="assigned", utn=utn, assigned_at=at, attempts=utn_requests.c.attempts + 1, last_error=None)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # -------------------------------------------------------------------------------------- reads

    async def record_read(self, user_id: str, packet_id: uuid.UUID, what: str) -> None:
        await self.session.execute(reads.insert().values(user_id=user_id, packet_id=packet_id, what=what))
