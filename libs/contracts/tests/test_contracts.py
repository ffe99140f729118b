"""The contracts: snapshots guard against breaking changes; the AsyncAPI document comes from the code."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from wiser_contracts import asyncapi, messages, schemas, topology
from wiser_contracts import messages as m

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


def test_each_consumer_has_partition_queues_that_park_into_its_own_dlq() -> None:
    names = [c.partition_name(i) for c in topology.CONSUMERS for i in range(c.partitions)]
    assert len(names) == len(set(names))
    for consumer in topology.CONSUMERS:
        queue = consumer.partition_queue(0)
        assert queue.name == f"{consumer.service}.p00"
        assert queue.arguments["x-dead-letter-routing-key"] == consumer.dlq_name
        assert queue.arguments["x-single-active-consumer"] is True
        # A replay dead-letters back into the input exchange, which hashes it onto its partition again.
        assert consumer.dlq().arguments["x-dead-letter-exchange"] == consumer.exchange.name
        assert consumer.exchange.arguments == {"hash-header": topology.PARTITION_HEADER}
        handlers = [i.handler for i in consumer.interests]
        assert len(handlers) == len(set(handlers))


def test_services_bind_only_the_states_they_act_on() -> None:
    keys = {key for _, key in topology.VALIDATION.bindings()}
    assert "intake.packet.transitioned.validating" in keys
    assert "intake.packet.transitioned.clinical_queue" not in keys
    assert {key for _, key in topology.CLINICAL.bindings()} >= {"intake.packet.transitioned.clinical_queue"}
    assert {key for _, key in topology.GATEWAY.bindings()} == {"intake.packet.transitioned.*"}


def test_a_transition_is_routed_by_its_target_state_and_partitioned_by_its_packet() -> None:
    import uuid

    pid = uuid.uuid4()
    t = m.PacketTransitioned(
        packet_id=pid,
        transition="T2",
        from_state="validating",
        to_state="clinical_queue",
        version=3,
        actor=m.Actor(type="system", id="validation"),
    )
    assert t.routing_key() == "intake.packet.transitioned.clinical_queue"
    assert t.amqp_headers()[topology.PARTITION_HEADER] == str(pid)


def test_events_belong_to_the_service_named_first_and_commands_come_from_services() -> None:
    assert topology.publishers_of(m.PacketValidated) == ("validation",)
    assert topology.publishers_of(m.UtnAssigned) == ("clinical",)
    assert "validation" in topology.publishers_of(m.RevalidatePacket)
    assert "intake" not in topology.publishers_of(m.WithdrawPacket)


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
