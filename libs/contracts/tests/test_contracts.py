"""The contracts: snapshots guard against breaking changes; the AsyncAPI document comes from the code."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from wiser_contracts import asyncapi, messages, schemas, topology

HERE = Path(__file__).resolve().parents[1]


def test_the_code_matches_the_committed_schemas() -> None:
    assert schemas.check() == []


def test_the_committed_asyncapi_document_is_current() -> None:
    committed = json.loads((HERE / "asyncapi.json").read_text())
    assert committed == json.loads(asyncapi.document()), "run `make docs`"


def _schema(model: type[BaseModel]) -> dict:
    return model.model_json_schema(mode="serialization")


class V1(BaseModel):
    packet_id: str
    count: int
    note: str | None = None


class V1Added(BaseModel):
    packet_id: str
    count: int
    note: str | None = None
    extra: str | None = Field(default=None)


class V1Removed(BaseModel):
    packet_id: str
    note: str | None = None


class V1Required(BaseModel):
    packet_id: str
    count: int
    note: str


class V1Narrowed(BaseModel):
    packet_id: str
    count: int
    note: int | None = None


def test_an_added_optional_field_is_not_breaking() -> None:
    assert schemas.breaking_changes(_schema(V1), _schema(V1Added)) == []


@pytest.mark.parametrize("changed", [V1Removed, V1Required, V1Narrowed])
def test_removing_requiring_or_narrowing_a_field_is_breaking(changed: type[BaseModel]) -> None:
    assert schemas.breaking_changes(_schema(V1), _schema(changed))


def test_a_missing_snapshot_is_reported(tmp_path: Path) -> None:
    schemas.write(tmp_path)
    victim = next(tmp_path.glob("*.json"))
    victim.unlink()
    assert any("no committed snapshot" in p for p in schemas.check(tmp_path))


def test_a_breaking_edit_against_a_snapshot_is_reported(tmp_path: Path) -> None:
    schemas.write(tmp_path)
    path = tmp_path / schemas.snapshot_name(messages.PacketTransitioned)
    snap = json.loads(path.read_text())
    snap["properties"]["legacy_field"] = {"type": "string"}
    path.write_text(json.dumps(snap))
    assert any("legacy_field: removed" in p for p in schemas.check(tmp_path))


def test_every_message_is_routed_by_its_type() -> None:
    for msg in messages.ALL_MESSAGES:
        if msg.KIND == "event":
            assert re.fullmatch(r"[a-z]+\.[a-z_]+\.[a-z_]+", msg.TYPE), msg.TYPE
        else:
            assert re.fullmatch(r"[a-z]+\.[a-z_]+", msg.TYPE), msg.TYPE
        assert topology.exchange_for(msg) is (topology.COMMANDS if msg.KIND == "command" else topology.EVENTS)


def test_queues_are_named_consumer_dot_handler_and_unique() -> None:
    names = [s.queue_name for s in topology.ALL_SUBSCRIPTIONS]
    assert len(names) == len(set(names))
    for sub in topology.ALL_SUBSCRIPTIONS:
        assert sub.queue_name.startswith(sub.consumer + ".")
        assert sub.dlq().name == sub.queue_name + ".dlq"
        assert sub.retry_queue(1).arguments["x-dead-letter-routing-key"] == sub.queue_name


def test_metadata_is_mirrored_into_amqp_headers() -> None:
    import uuid

    pid = uuid.uuid4()
    e = messages.PacketSlaBreached(packet_id=pid, producer="intake", state="validating", due_at="2026-12-01T00:00:00Z")
    h = e.amqp_headers()
    assert h["type"] == "intake.packet.sla_breached" and h["packet_id"] == str(pid)
    assert h["correlation_id"] == str(pid) and h["schema_version"] == "1"
    caused = e.caused(messages.TransitionRejected, producer="intake", trigger_type="x", code="C")
    assert caused.causation_id == e.message_id and caused.correlation_id == e.correlation_id


def test_consumers_ignore_unknown_fields() -> None:
    body = json.loads(messages.ReviewAssigned(reviewer_id="n1").model_dump_json())
    body["added_in_a_later_minor_version"] = True
    assert messages.ReviewAssigned.model_validate(body).reviewer_id == "n1"
