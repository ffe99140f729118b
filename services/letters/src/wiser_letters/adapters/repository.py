"""The unit of work and repository over letters' own tables (SQLAlchemy, asyncpg)."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from wiser_contracts import messages as m
from wiser_servicekit import audit_chain
from wiser_servicekit.outbox import add_to_outbox, record_in_inbox

from ..templates import packaged
from ..usecases.ports import (
    ApprovalRecord,
    LetterVersionRecord,
    PacketInfo,
    Repository,
    SetRecord,
    VersionRecord,
    ViewRecord,
)
from .tables import (
    VIEWS_CHAINED,
    approvals,
    check_results,
    inbox,
    letter_sets,
    letter_versions,
    letters,
    outbox,
    packets,
    set_versions,
    templates,
    views,
)

_log = logging.getLogger("wiser.letters.audit")


def _set(row: Any, letter_rows: list[Any]) -> SetRecord:
    return SetRecord(
        id=row.id,
        packet_id=row.packet_id,
        kind=row.kind,
        version=row.version,
        status=row.status,
        created_at=row.created_at,
        updated_at=row.updated_at,
        letters={lr.recipient: lr.id for lr in letter_rows},
        blocked_reason=row.blocked_reason,
        template_version=row.template_version,
        tracking_number=row.tracking_number,
        due_at=row.due_at,
        paragraphs=row.paragraphs or {},
    )


class SqlRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def get_packet(self, packet_id: uuid.UUID) -> PacketInfo | None:
        row = (await self.s.execute(select(packets).where(packets.c.packet_id == packet_id))).first()
        if row is None:
            return None
        return PacketInfo(row.packet_id, row.state, row.version, row.outcome, row.utn, row.review_type, row.due_at)

    async def put_packet(self, info: PacketInfo) -> None:
        values = {
            "state": info.state,
            "version": info.version,
            "outcome": info.outcome,
            "utn": info.utn,
            "review_type": info.review_type,
            "due_at": info.due_at,
        }
        await self.s.execute(
            insert(packets)
            .values(packet_id=info.packet_id, **values)
            .on_conflict_do_update(index_elements=[packets.c.packet_id], set_=values)
        )

    async def _letters_of(self, set_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Any]]:
        out: dict[uuid.UUID, list[Any]] = {i: [] for i in set_ids}
        if set_ids:
            for lr in (await self.s.execute(select(letters).where(letters.c.set_id.in_(set_ids)))).all():
                out[lr.set_id].append(lr)
        return out

    async def get_set(self, set_id: uuid.UUID, *, lock: bool = False) -> SetRecord | None:
        q = select(letter_sets).where(letter_sets.c.id == set_id)
        if lock:
            q = q.with_for_update()
        row = (await self.s.execute(q)).first()
        if row is None:
            return None
        return _set(row, (await self._letters_of([set_id]))[set_id])

    async def set_of_letter(self, letter_id: uuid.UUID) -> tuple[SetRecord, str] | None:
        lr = (await self.s.execute(select(letters).where(letters.c.id == letter_id))).first()
        if lr is None:
            return None
        s = await self.get_set(lr.set_id)
        return (s, lr.recipient) if s else None

    async def put_set(self, s: SetRecord) -> None:
        values = {
            "packet_id": s.packet_id,
            "kind": s.kind,
            "version": s.version,
            "status": s.status,
            "blocked_reason": s.blocked_reason,
            "template_version": s.template_version,
            "tracking_number": s.tracking_number,
            "due_at": s.due_at,
            "paragraphs": s.paragraphs,
            "updated_at": s.updated_at,
        }
        await self.s.execute(
            insert(letter_sets)
            .values(id=s.id, created_at=s.created_at, **values)
            .on_conflict_do_update(index_elements=[letter_sets.c.id], set_=values)
        )
        for recipient, letter_id in s.letters.items():
            await self.s.execute(
                insert(letters).values(id=letter_id, set_id=s.id, recipient=recipient).on_conflict_do_nothing()
            )

    async def add_version(self, v: VersionRecord) -> None:
        await self.s.execute(
            set_versions.insert().values(
                set_id=v.set_id,
                version=v.version,
                action=v.action,
                status=v.status,
                actor=v.actor,
                reason=v.reason,
                template_version=v.template_version,
                packet_version=v.packet_version,
                created_at=v.created_at,
            )
        )
        for lv in v.letters:
            await self.s.execute(
                letter_versions.insert().values(
                    letter_id=lv.letter_id,
                    version=lv.version,
                    object_key=lv.object_key,
                    sha256=lv.sha256,
                    size=lv.size,
                    pages=lv.pages,
                    passed=lv.passed,
                    model=lv.model,
                    created_at=lv.created_at,
                )
            )
            if lv.checks:
                await self.s.execute(
                    check_results.insert(),
                    [
                        {
                            "letter_id": lv.letter_id,
                            "version": lv.version,
                            "position": i,
                            "check": c["check"],
                            "passed": c["passed"],
                            "detail": c.get("detail") or "",
                        }
                        for i, c in enumerate(lv.checks)
                    ],
                )

    async def versions(self, set_id: uuid.UUID) -> list[VersionRecord]:
        rows = (
            await self.s.execute(
                select(set_versions).where(set_versions.c.set_id == set_id).order_by(set_versions.c.version)
            )
        ).all()
        letter_rows = (await self._letters_of([set_id]))[set_id]
        recipient_of = {lr.id: lr.recipient for lr in letter_rows}
        lvs: dict[int, list[LetterVersionRecord]] = {}
        if recipient_of:
            q = select(letter_versions).where(letter_versions.c.letter_id.in_(list(recipient_of)))
            checks = await self._checks(list(recipient_of))
            for r in (await self.s.execute(q)).all():
                lvs.setdefault(r.version, []).append(
                    LetterVersionRecord(
                        letter_id=r.letter_id,
                        recipient=recipient_of[r.letter_id],
                        version=r.version,
                        passed=r.passed,
                        model=r.model,
                        checks=checks.get((r.letter_id, r.version), []),
                        created_at=r.created_at,
                        object_key=r.object_key,
                        sha256=r.sha256,
                        size=r.size,
                        pages=r.pages,
                    )
                )
        return [
            VersionRecord(
                set_id=r.set_id,
                version=r.version,
                action=r.action,
                status=r.status,
                actor=r.actor,
                created_at=r.created_at,
                reason=r.reason,
                template_version=r.template_version,
                packet_version=r.packet_version,
                letters=sorted(lvs.get(r.version, []), key=lambda x: x.recipient != "requester"),
            )
            for r in rows
        ]

    async def _checks(self, letter_ids: list[uuid.UUID]) -> dict[tuple[uuid.UUID, int], list[dict[str, Any]]]:
        out: dict[tuple[uuid.UUID, int], list[dict[str, Any]]] = {}
        q = (
            select(check_results)
            .where(check_results.c.letter_id.in_(letter_ids))
            .order_by(check_results.c.letter_id, check_results.c.version, check_results.c.position)
        )
        for r in (await self.s.execute(q)).all():
            out.setdefault((r.letter_id, r.version), []).append(
                {"check": r.check, "passed": r.passed, "detail": r.detail}
            )
        return out

    async def letter_version(self, letter_id: uuid.UUID, version: int) -> LetterVersionRecord | None:
        r = (
            await self.s.execute(
                select(letter_versions, letters.c.recipient)
                .join(letters, letters.c.id == letter_versions.c.letter_id)
                .where(letter_versions.c.letter_id == letter_id, letter_versions.c.version == version)
            )
        ).first()
        if r is None:
            return None
        return LetterVersionRecord(
            letter_id=r.letter_id,
            recipient=r.recipient,
            version=r.version,
            passed=r.passed,
            model=r.model,
            checks=(await self._checks([letter_id])).get((letter_id, version), []),
            created_at=r.created_at,
            object_key=r.object_key,
            sha256=r.sha256,
            size=r.size,
            pages=r.pages,
        )

    async def add_approval(self, a: ApprovalRecord) -> None:
        await self.s.execute(
            approvals.insert().values(
                set_id=a.set_id, version=a.version, decision=a.decision, by=a.by, role=a.role, reason=a.reason, at=a.at
            )
        )

    async def approvals(self, set_id: uuid.UUID) -> list[ApprovalRecord]:
        rows = (
            await self.s.execute(select(approvals).where(approvals.c.set_id == set_id).order_by(approvals.c.id))
        ).all()
        return [ApprovalRecord(r.set_id, r.version, r.decision, r.by, r.at, r.role, r.reason) for r in rows]

    async def add_view(self, v: ViewRecord) -> None:
        """A read, chained into the tamper-evident read audit (its head sealed where letters cannot rewrite it)."""
        values = {
            "what": v.what,
            "set_id": v.set_id,
            "letter_id": v.letter_id,
            "version": v.version,
            "viewer": v.viewer,
            "roles": v.roles,
            "on_behalf_of": v.on_behalf_of,
            "outcome": v.outcome,
            "at": v.at,
        }
        row_id, row_hash = await audit_chain.append(self.s, views, "letters", values, VIEWS_CHAINED)

        def committed(_: Any) -> None:  # the log's copy of the head, once committed
            _log.info("audit sealed", extra={"audit_id": row_id, "audit_hash": row_hash})

        event.listen(self.s.sync_session, "after_commit", committed, once=True)

    async def template(self, version: str | None = None) -> tuple[str, dict[str, str]]:
        q = select(templates)
        q = q.where(templates.c.version == version) if version else q.order_by(templates.c.version.desc()).limit(1)
        row = (await self.s.execute(q)).first()
        if row is None:
            raise LookupError(f"no letter template {version or '(any)'}")
        return row.version, dict(row.texts)

    async def list_sets(self, statuses: tuple[str, ...], limit: int) -> list[SetRecord]:
        q = (
            select(letter_sets)
            .where(letter_sets.c.status.in_(statuses))
            .order_by(letter_sets.c.due_at.asc().nulls_last(), letter_sets.c.updated_at)
            .limit(limit)
        )
        rows = (await self.s.execute(q)).all()
        lets = await self._letters_of([r.id for r in rows])
        return [_set(r, lets[r.id]) for r in rows]

    async def sets_of_packet(self, packet_id: uuid.UUID) -> list[SetRecord]:
        rows = (await self.s.execute(select(letter_sets).where(letter_sets.c.packet_id == packet_id))).all()
        lets = await self._letters_of([r.id for r in rows])
        return [_set(r, lets[r.id]) for r in rows]

    async def waiting_for_utn(self, limit: int) -> list[uuid.UUID]:
        drafted = select(letter_sets.c.id).where(
            letter_sets.c.packet_id == packets.c.packet_id, letter_sets.c.kind != "reclassification_notice"
        )
        q = (
            select(packets.c.packet_id)
            .where(
                packets.c.state == "determined",
                packets.c.outcome.in_(("affirmed", "non_affirmed", "partially_affirmed")),
                packets.c.utn.is_(None),
                ~drafted.exists(),
            )
            .order_by(packets.c.updated_at)
            .limit(limit)
        )
        return list((await self.s.execute(q)).scalars().all())


class SqlUnitOfWork:
    repo: Repository

    def __init__(self, sessions: Callable[[], AsyncSession]) -> None:
        self._sessions = sessions

    async def __aenter__(self) -> SqlUnitOfWork:
        self.session = self._sessions()
        await self.session.__aenter__()
        await self.session.begin()
        self.repo = SqlRepository(self.session)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.session.in_transaction():
            await self.session.rollback()
        await self.session.__aexit__(None, None, None)

    async def seen(self, message_id: uuid.UUID, handler: str) -> bool:
        return await record_in_inbox(self.session, inbox, message_id, handler)

    async def emit(self, message: m.Message) -> None:
        await add_to_outbox(self.session, outbox, message)

    async def commit(self) -> None:
        await self.session.commit()


async def load_templates(session: AsyncSession) -> int:
    """Store every packaged template version not stored yet (a version's texts never change once stored)."""
    added = 0
    for t in packaged():
        digest = hashlib.sha256(json.dumps(t["texts"], sort_keys=True).encode()).hexdigest()
        result = await session.execute(
            insert(templates)
            .values(version=t["version"], texts=t["texts"], sha256=digest)
            .on_conflict_do_nothing()
            .returning(templates.c.version)
        )
        added += len(result.all())
    return added
