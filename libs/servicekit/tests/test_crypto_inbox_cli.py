"""servicekit's own tests for PHI encryption, the inbox, and the service CLI every service shares."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import MetaData

from wiser_contracts import topology
from wiser_servicekit.cli import Command, ServiceCli
from wiser_servicekit.crypto import FieldCipher
from wiser_servicekit.outbox import outbox_tables, record_in_inbox
from wiser_servicekit.settings import ServiceSettings
from wiser_servicekit.testing import Infra, scratch_schema


def test_encrypted_values_round_trip_and_reveal_nothing() -> None:
    cipher = FieldCipher(Fernet.generate_key().decode(), "index-key-" + "x" * 32)
    person = {"first_name": "Avery", "last_name": "Quillon", "date_of_birth": "1948-12-10"}
    token = cipher.encrypt_json(person)
    assert "Quillon" not in token and "1948" not in token
    assert cipher.decrypt_json(token) == person
    assert cipher.encrypt_json(person) != token  # a fresh IV each time: equal values do not look equal


def test_keys_rotate_the_first_encrypts_and_every_key_decrypts() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    written_before = FieldCipher(old, "i" * 40).encrypt_json({"mbi": "9J06YC0QA26"})
    rotated = FieldCipher(f"{new},{old}", "i" * 40)
    assert rotated.decrypt_json(written_before) == {"mbi": "9J06YC0QA26"}
    written_after = rotated.encrypt_json({"mbi": "9J06YC0QA26"})
    with pytest.raises(ValueError, match="could not be decrypted"):
        FieldCipher(old, "i" * 40).decrypt_json(written_after)


def test_a_blind_index_matches_equal_values_only_under_the_same_key() -> None:
    a = FieldCipher(Fernet.generate_key().decode(), "k" * 40)
    b = FieldCipher(Fernet.generate_key().decode(), "j" * 40)
    assert a.blind_index("9j06yc0qa26 ") == a.blind_index("9J06YC0QA26")
    assert a.blind_index("9J06YC0QA26") != a.blind_index("9J06YC0QA27")
    assert a.blind_index("9J06YC0QA26") != b.blind_index("9J06YC0QA26")
    assert "9J06YC0QA26" not in a.blind_index("9J06YC0QA26")


def test_no_keys_is_refused() -> None:
    with pytest.raises(ValueError):
        FieldCipher(" , ", "k" * 40)


async def test_the_inbox_remembers_each_message_once_per_handler(infra: Infra) -> None:
    schema = f"inbox{uuid.uuid4().hex[:6]}"
    metadata = MetaData(schema=schema)
    _, inbox = outbox_tables(metadata)
    async with scratch_schema(infra, metadata) as sessions:
        message_id = uuid.uuid4()
        async with sessions() as session, session.begin():
            assert await record_in_inbox(session, inbox, message_id, "svc.on_a")
            assert not await record_in_inbox(session, inbox, message_id, "svc.on_a")
            assert await record_in_inbox(session, inbox, message_id, "svc.on_b")  # another handler, its own record
        async with sessions() as session:  # a rolled-back effect leaves no record: the redelivery is handled again
            async with session.begin():
                await record_in_inbox(session, inbox, (other := uuid.uuid4()), "svc.on_a")
                await session.rollback()
            async with session.begin():
                assert await record_in_inbox(session, inbox, other, "svc.on_a")


def test_every_service_gets_migrate_serve_and_dlq_and_keeps_its_own_commands() -> None:
    ran: list[str] = []

    def hello(_: object, args: object) -> None:
        ran.append(args.name)

    cli = ServiceCli(
        "probe",
        ServiceSettings,
        Path("."),
        consumer=topology.INTAKE,
        outbox="wiser_intake.adapters.tables:outbox",
        extra={"hello": Command("say hello", hello, lambda p: p.add_argument("name"))},
    )
    parser = cli.parser()
    for argv in (["migrate"], ["serve"], ["dlq", "list"], ["dlq", "replay-outbox"], ["hello", "x"]):
        assert parser.parse_args(argv).command == argv[0]
    with pytest.raises(SystemExit):
        parser.parse_args(["dlq", "everything"])
    without_bus = ServiceCli("plain", ServiceSettings, Path("."))
    with pytest.raises(SystemExit):
        without_bus.parser().parse_args(["dlq", "list"])
