"""Reference data changes by adding a version with a new effective date: loaded into the table, no code change."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path

from wiser_servicekit.db import make_engine, make_sessionmaker
from wiser_servicekit.migrate import migrate
from wiser_validation.adapters.reference_store import ReferenceStore, file_documents, load_files
from wiser_validation.cli import SERVICE_ROOT
from wiser_validation.config import Settings
from wiser_validation.domain import PacketFacts
from wiser_validation.domain.checks import check_jurisdiction
from wiser_validation.reference import DEFAULT_DIRECTORY


def nj_packet() -> PacketFacts:
    return PacketFacts.from_packet_json(
        {
            "packet_id": "p1",
            "state": "NJ",
            "place_of_service": "22",
            "received_at": "2026-12-01T00:00:00Z",
            "beneficiary": {"mbi": "9J06YC0QA26", "first_name": "A", "last_name": "B", "date_of_birth": "1948-12-10"},
            "practitioner": {"npi": "1151056334", "ptan": "NJ100000", "first_name": "U", "last_name": "B"},
            "services": [{"code": "64581", "units": 1, "date_of_service": "2027-01-10"}],
            "diagnosis_codes": ["N39.41"],
            "document_count": 1,
        }
    )


async def test_a_new_version_with_a_later_effective_date_changes_the_rules_without_code(infra, tmp_path: Path) -> None:
    settings = Settings(
        env="test", database_url=infra.sqlalchemy_url("wiser_validation"), database_admin_url=infra.sqlalchemy_url()
    )
    await asyncio.to_thread(migrate, settings, SERVICE_ROOT)
    engine = make_engine(settings.database_url, settings.db_schema, 2)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions() as session, session.begin():
            await load_files(session, file_documents())
        async with sessions() as session, session.begin():
            assert await load_files(session, file_documents()) == 0  # loading is idempotent

        states = json.loads((DEFAULT_DIRECTORY / "states.json").read_text())
        without_nj = [s for s in states["versions"][-1]["states"] if s["state"] != "NJ"]
        (tmp_path / "states.json").write_text(
            json.dumps(
                {
                    "source": "a later guide version (test)",
                    "versions": [{"effective": "2027-01-01", "states": without_nj}],
                }
            )
        )
        async with sessions() as session, session.begin():
            assert await load_files(session, file_documents(tmp_path)) == 1

        store = ReferenceStore(sessions)
        before = await store.in_force(date(2026, 12, 31))
        after = await store.in_force(date(2027, 1, 1))
        assert check_jurisdiction(nj_packet(), before) == []
        assert [f.code for f in check_jurisdiction(nj_packet(), after)] == ["WRONG_JURISDICTION"]
        assert dict(after.versions)["states"] == "2027-01-01"
    finally:
        await engine.dispose()
