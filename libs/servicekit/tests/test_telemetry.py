"""Spans are recorded only while an exporter is installed; the trace ids flow either way."""

from __future__ import annotations

import pytest
from opentelemetry import propagate
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace import TracerProvider

from wiser_servicekit import telemetry


@pytest.mark.parametrize("exporting", [False, True])
def test_a_trace_is_one_trace_whether_or_not_spans_are_recorded(
    monkeypatch: pytest.MonkeyPatch, exporting: bool
) -> None:
    monkeypatch.setattr(telemetry, "_exporting", exporting)
    tracer = TracerProvider(sampler=telemetry.WhileExporting()).get_tracer("test")
    with tracer.start_as_current_span("submit") as root:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)  # what the outbox row and the AMQP headers keep
    assert root.is_recording() is False  # ended
    assert isinstance(root, otel_trace.NonRecordingSpan) is not exporting
    with tracer.start_as_current_span("consume", context=propagate.extract(carrier)) as child:
        assert child.is_recording() is exporting
        assert child.get_span_context().trace_id == root.get_span_context().trace_id != 0
        assert child.get_span_context().span_id != root.get_span_context().span_id
