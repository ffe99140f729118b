"""Letters' own tables through its migrations and its SQL unit of work: sets, versions, checks, approvals, views,
templates; letter models encrypted at rest; the inbox makes a message count once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from wiser_contracts import messages as m
from wiser_letters.adapters.repository import SqlUnitOfWork, load_templates
from wiser_letters.cli import SERVICE_ROOT
from wiser_letters.config import Settings
from wiser_letters.domain import letter_set as ls
from wiser_letters.domain.model import Kind, Recipient
from wiser_letters.usecases.ports import (
    ApprovalRecord,
    LetterVersionRecord,
    PacketInfo,
    SetRecord,
    VersionRecord,
    ViewRecord,
)
from wiser_servicekit.crypto import FieldCipher, configure_cipher
from wiser_servicekit.db import make_engine, make_sessionmaker
from wiser_servicekit.migrate import migrate


async def test_sets_versions_approvals_and_views_round_trip_with_models_encrypted(infra) -> None:
    settings = Settings(
        env="test", database_url=infra.sqlalchemy_url("wiser_letters"), database_admin_url=infra.sqlalchemy_url()
    )
    await asyncio.to_thread(migrate, settings, SERVICE_ROOT)
    configure_cipher(FieldCipher(settings.phi_keys, settings.phi_index_key))
    engine = make_engine(settings.database_url, settings.db_schema, 2)
    sessions = make_sessionmaker(engine)
    uow = lambda: SqlUnitOfWork(sessions)  # noqa: E731
    try:
        async with sessions() as session, session.begin():
            assert await load_templates(session) >= 1
        async with sessions() as session, session.begin():
            assert await load_templates(session) == 0  # idempotent

        pid = uuid.uuid4()
        set_id = ls.set_id_for(pid, Kind.NON_AFFIRMATION)
        letters = {r.value: ls.letter_id_for(set_id, r) for r in Recipient}
        at = datetime(2026, 11, 23, 15, tzinfo=UTC)
        model = {"beneficiary_name": "Avery Quillon", "mbi": "9J06YC0QA26"}
        async with uow() as u:
            version, texts = await u.repo.template()
            assert "requester.validity" in texts
            await u.repo.put_packet(PacketInfo(pid, "determined", 9, "non_affirmed", "JLA26001234567"))
            await u.repo.put_set(
                SetRecord(
                    set_id,
                    pid,
                    "non_affirmation",
                    1,
                    "drafted",
                    at,
                    at,
                    letters,
                    due_at=at + timedelta(days=1),
                    paragraphs={"requester": {"closing": "Thanks, Avery Quillon"}},
                )
            )
            await u.repo.add_version(
                VersionRecord(
                    set_id,
                    1,
                    "drafted",
                    "drafted",
                    "letters",
                    at,
                    template_version=version,
                    packet_version=9,
                    letters=[
                        LetterVersionRecord(
                            letters[r],
                            r,
                            1,
                            True,
                            model,
                            [{"check": "mbi", "passed": True, "detail": ""}],
                            at,
                            ls.object_key(letters[r], 1),
                            "ab" * 32,
                            1234,
                            2,
                        )
                        for r in letters
                    ],
                )
            )
            await u.repo.add_approval(ApprovalRecord(set_id, 1, "approved", "u-1", at, "supervisor"))
            await u.repo.add_view(
                ViewRecord("pdf", "svc:intake", "service", "ok", at, set_id, letters["requester"], 1, "p-1")
            )
            message = m.LetterDrafted(packet_id=pid, producer="letters", letter_id=letters["requester"], kind="x")
            assert await u.seen(message.message_id, "letters.test")
            await u.emit(message)
            await u.commit()

        async with uow() as u:
            assert not await u.seen(message.message_id, "letters.test")
            s = await u.repo.get_set(set_id, lock=True)
            assert s is not None and s.letters == letters and s.paragraphs["requester"]["closing"].startswith("Thanks")
            found = await u.repo.set_of_letter(letters["beneficiary"])
            assert found is not None and found[1] == "beneficiary"
            (v,) = await u.repo.versions(set_id)
            assert [lv.recipient for lv in v.letters] == ["requester", "beneficiary"]
            assert v.letters[0].model == model and v.letters[0].checks[0]["check"] == "mbi"
            lv = await u.repo.letter_version(letters["requester"], 1)
            assert lv is not None and lv.pages == 2
            assert [a.decision for a in await u.repo.approvals(set_id)] == ["approved"]
            assert [x.id for x in await u.repo.list_sets(("drafted",), 10)] == [set_id]
            assert (await u.repo.get_packet(pid)).utn == "JLA26001234567"  # type: ignore[union-attr]
            waiting, dismissed = uuid.uuid4(), uuid.uuid4()
            await u.repo.put_packet(PacketInfo(waiting, "determined", 7, "affirmed", None))
            await u.repo.put_packet(PacketInfo(dismissed, "determined", 7, "dismissed", None))
            assert await u.repo.waiting_for_utn(10) == [waiting]

        async with sessions() as session:
            raw = (await session.execute(text("SELECT model::text FROM letters.letter_versions"))).scalars().all()
            sets = (await session.execute(text("SELECT paragraphs FROM letters.letter_sets"))).scalars().all()
            outbox = (await session.execute(text("SELECT type FROM letters.outbox"))).scalars().all()
        assert raw and all("Quillon" not in r and "9J06YC0QA26" not in r for r in raw)
        assert all("Quillon" not in p for p in sets)
        assert outbox == ["letters.letter.drafted"]
    finally:
        await engine.dispose()
