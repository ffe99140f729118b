"""Spans carry no PHI: the spans of a submission, a search by name (and by MBI), an outbound call with a
query string and a failing X12 build hold none of the fixtures' identities (names, MBIs, dates of birth).

A second, unscrubbed exporter on the same provider shows the identities were there to be leaked."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime

import httpx
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from wiser_contracts import messages as m
from wiser_contracts import topology
from wiser_intake.usecases.queries import packet_facts
from wiser_servicekit import telemetry
from wiser_servicekit.bus import declare_topology
from wiser_servicekit.consumer import PartitionedConsumer
from wiser_servicekit.fixtures import load_fixtures
from wiser_servicekit.testing import eventually, free_port
from wiser_x12 import EligibilityInquiry, Envelope, build_270


def identities() -> list[str]:
    out: list[str] = []
    for b in load_fixtures().beneficiaries.values():
        dob = str(b["date_of_birth"])
        out += [b["first_name"], b["last_name"], b["mbi"], dob, dob.replace("-", "")]
    return [i.lower() for i in out]


def leaks(spans: list[object]) -> set[str]:
    text = "\n".join(s.to_json() for s in spans).lower()  # type: ignore[attr-defined]
    return {i for i in identities() if i in text}


async def test_spans_of_submit_search_and_a_failing_x12_build_hold_no_identity(
    client, partner, build_packet, staff, ctx, settings
) -> None:
    scrubbed = telemetry.memory_exporter()
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    raw = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(raw))  # deliberately not behind the scrubber
    scrubbed.clear()
    ben = load_fixtures().beneficiaries["Tallis"]

    # A failing X12 build in a bus handler (the consumer's span records the exception).
    probe = topology.Consumer(
        f"phispans{uuid.uuid4().hex[:6]}", (topology.Interest("on_transitioned", m.PacketTransitioned),), partitions=1
    )
    await declare_topology(settings.amqp_admin_url, [probe], quorum=False)
    failed = asyncio.Event()
    ref = "PHI-" + uuid.uuid4().hex[:8]  # known before the submit: its transition may be handled before it returns

    async def build_eligibility_inquiry(message: m.PacketTransitioned) -> None:
        facts = await packet_facts(ctx, message.packet_id)
        if facts["external_ref"] != ref:
            return
        b = facts["beneficiary"]
        inquiry = EligibilityInquiry(
            trace_number="PHI0001",
            payer_id="CMS",
            provider_npi=facts["practitioner"]["npi"],
            provider_name="X",
            mbi=f"{b['mbi']}*",  # a delimiter inside the MBI (names are cleaned; our elements are refused)
            first_name=b["first_name"].upper(),
            last_name=b["last_name"].upper(),
            date_of_birth=date.fromisoformat(b["date_of_birth"]),
            gender=None,
            date_of_service=date.today(),
        )
        failed.set()
        envelope = Envelope("WISERPA", "CMS", 1, 1, "0001", created=datetime.now(UTC))
        build_270(inquiry, envelope)

    consumer = PartitionedConsumer(
        probe, {m.PacketTransitioned.TYPE: build_eligibility_inquiry}, settings.amqp_admin_url, retry_delays=()
    )
    await consumer.acquire(0)
    try:
        r = await client.post("/api/v1/packets", json=build_packet(ben="Tallis", external_ref=ref), headers=partner)
        assert r.status_code == 201, r.text
        pid = r.json()["packet_id"]
        h = staff("ops_tier1")
        for q in (f"{ben['first_name']} {ben['last_name']}", ben["mbi"], ben["date_of_birth"]):
            found = await client.get("/api/v1/ops/packets", params={"q": q}, headers=h)
            assert found.status_code == 200
        # An outbound call whose URL carries a search, and fails.
        async with httpx.AsyncClient() as http:
            try:
                await http.get(f"http://127.0.0.1:{free_port()}/search", params={"name": ben["last_name"]})
            except httpx.TransportError:
                pass
        await asyncio.wait_for(failed.wait(), 20)

        async def x12_span_done() -> bool:
            return any(
                s.name == f"{probe.service}.on_transitioned process"
                and s.attributes.get(telemetry.PACKET_ATTR) == pid
                and any(e.name == "exception" for e in s.events)
                for s in scrubbed.get_finished_spans()
            )

        await eventually(x12_span_done)
    finally:
        await consumer.stop()
    spans = list(scrubbed.get_finished_spans())
    kinds = {s.kind.name for s in spans}
    assert {"SERVER", "CLIENT", "CONSUMER"} <= kinds, kinds
    assert any(s.attributes.get("http.route") == "/api/v1/ops/packets" for s in spans)
    x12 = [s for s in spans if s.name == f"{probe.service}.on_transitioned process" and s.events]
    assert [e.attributes.get("exception.type") for e in x12[0].events if e.name == "exception"] == [
        "wiser_x12.models.X12Error"
    ]

    assert leaks(spans) == set()
    # The same spans before scrubbing held them (query strings, the X12 error's message): the test can see a leak.
    before = leaks(list(raw.get_finished_spans()))
    raw.shutdown()  # it stays on the provider; shut down, it keeps nothing more
    assert {ben["last_name"].lower(), ben["mbi"].lower()} <= before, before
