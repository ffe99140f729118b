"""Migration 0005 converts rows written before it: the plaintext search name becomes blind-index tokens,
file names, reasons, notes, the expedited reason, determination and dismissal become ciphertext."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import asyncpg
from alembic import command

from wiser_intake.cli import SERVICE_ROOT
from wiser_intake.config import Settings
from wiser_servicekit.crypto import FieldCipher
from wiser_servicekit.db import ensure_role_and_schema
from wiser_servicekit.migrate import alembic_config


async def test_rows_from_before_are_converted(infra) -> None:
    own = infra.derive("mig" + uuid.uuid4().hex[:6])
    settings = Settings(
        env="test", database_url=own.sqlalchemy_url("wiser_intake"), database_admin_url=own.sqlalchemy_url()
    )
    cipher = FieldCipher(settings.phi_keys, settings.phi_index_key)
    await ensure_role_and_schema(settings.database_admin_url, settings.database_url, "intake")
    cfg = alembic_config(SERVICE_ROOT, settings.database_url, "intake")
    cfg.attributes["settings"] = settings
    await asyncio.to_thread(command.upgrade, cfg, "0003")

    pid, doc = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    beneficiary = {
        "mbi": "1EG4TE5MK73",
        "first_name": "Ottoline",
        "last_name": "Quarrender",
        "date_of_birth": "1941-02-03",
    }
    determination = {
        "outcome": "non_affirmed",
        "lines": [{"code": "64581", "outcome": "non_affirmed", "reasons": ["Quarrender lacks a trial"]}],
        "rationale": "Ottoline's BMI",
    }
    dismissal = {"code": "INVALID_BENEFICIARY", "reason": "x", "note": "Quarrender deceased", "all": []}
    conn = await asyncpg.connect(own.dsn())
    try:
        await conn.execute(
            """INSERT INTO intake.packets (id, tracking_number, channel, submission_type, review_type, expedited_reason,
               state_of_service, place_of_service, beneficiary, practitioner, beneficiary_name, mbi_index,
               practitioner_npi, state, version, received_at, due_at, updated_at, determination, dismissal,
               payload_hash)
               VALUES ($1, 'WSR-2026-00000001', 'api', 'initial', 'expedited', 'Ottoline falls', 'NJ', '22', $2, '{}',
               'ottoline quarrender', $3, '1151056334', 'determined', 5, $4, $4, $4, $5, $6, 'h')""",
            pid,
            cipher.encrypt_json(beneficiary),
            cipher.blind_index(beneficiary["mbi"]),
            now,
            json.dumps(determination),
            json.dumps(dismissal),
        )
        await conn.execute(
            """INSERT INTO intake.documents (id, packet_id, filename, content_type, size, sha256, category, s3_key)
               VALUES ($1, $2, 'quarrender-ottoline.pdf', 'application/pdf', 1, 'x', 'clinical', 'k')""",
            doc,
            pid,
        )
        await conn.execute(
            """INSERT INTO intake.transitions (packet_id, transition, from_state, to_state, trigger, actor_type,
               actor_id, reason, version, at) VALUES ($1, 'T19', 'validating', 'closed', 'intake.withdraw', 'partner',
               'p', 'Quarrender moved away', 2, $2)""",
            pid,
            now,
        )
        await conn.execute(
            """INSERT INTO intake.corrections (packet_id, version, field, old_value, new_value, reason, actor_id, at)
               VALUES ($1, 3, 'beneficiary.mbi', $2, $3, 'phoned Quarrender', 'ops', $4)""",
            pid,
            cipher.encrypt_json("1EG4TE5MK7"),
            cipher.encrypt_json("1EG4TE5MK73"),
            now,
        )
    finally:
        await conn.close()

    await asyncio.to_thread(command.upgrade, cfg, "head")

    conn = await asyncpg.connect(own.dsn())
    try:
        packet = await conn.fetchrow("SELECT * FROM intake.packets WHERE id = $1", pid)
        document = await conn.fetchrow("SELECT * FROM intake.documents WHERE id = $1", doc)
        history = await conn.fetchrow("SELECT * FROM intake.transitions WHERE packet_id = $1", pid)
        correction = await conn.fetchrow("SELECT * FROM intake.corrections WHERE packet_id = $1", pid)
        stored = " ".join(str(v) for r in (packet, document, history, correction) for v in r.values()).lower()
        assert "beneficiary_name" not in packet.keys()
        for secret in ("ottoline", "quarrender"):
            assert secret not in stored
        assert cipher.decrypt_text(document["filename"]) == "quarrender-ottoline.pdf"
        assert cipher.decrypt_text(history["reason"]) == "Quarrender moved away"
        assert cipher.decrypt_text(correction["reason"]) == "phoned Quarrender"
        assert cipher.decrypt_text(packet["expedited_reason"]) == "Ottoline falls"
        assert cipher.decrypt_json(packet["determination"]) == determination
        assert cipher.decrypt_json(packet["dismissal"]) == dismissal
        for term in ("quar", "Ottoline Quarrender", "ott quarr"):
            found = await conn.fetchval(
                "SELECT count(*) FROM intake.packets WHERE name_index @> $1::bigint[]", cipher.name_query(term)
            )
            assert found == 1, term
    finally:
        await conn.close()
