"""OpenTelemetry: one tracer provider per process, W3C context in AMQP headers and outbox rows."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

PACKET_ATTR = "wiser.packet_id"
_memory_exporter: InMemorySpanExporter | None = None
_instrumented_httpx = False


def setup_telemetry(service_name: str, exporter: str = "none", endpoint: str | None = None) -> TracerProvider:
    """Install the process's tracer provider once; later calls only add exporters."""
    global _memory_exporter
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        provider = current
    else:
        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        trace.set_tracer_provider(provider)
    processor: SpanProcessor | None = None
    if exporter == "console":
        processor = BatchSpanProcessor(ConsoleSpanExporter())
    elif exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint) if endpoint else OTLPSpanExporter())
    elif exporter == "memory" and _memory_exporter is None:
        _memory_exporter = InMemorySpanExporter()
        processor = SimpleSpanProcessor(_memory_exporter)
    if processor is not None:
        provider.add_span_processor(processor)
    return provider


def memory_exporter() -> InMemorySpanExporter:
    """The in-memory exporter (tests); installs it if needed."""
    setup_telemetry("test", "memory")
    assert _memory_exporter is not None
    return _memory_exporter


def instrument_httpx() -> None:
    global _instrumented_httpx
    if not _instrumented_httpx:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor().instrument()
        _instrumented_httpx = True


def tracer(name: str = "wiser") -> trace.Tracer:
    return trace.get_tracer(name)


def inject_current() -> dict[str, str]:
    """The current trace context as W3C headers (traceparent, tracestate)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def extract(headers: Mapping[str, Any] | None) -> otel_context.Context:
    carrier = {k: str(v) for k, v in (headers or {}).items() if k in ("traceparent", "tracestate")}
    return propagate.extract(carrier)


def tag_packet(packet_id: object) -> None:
    """Mark the current span with the packet it is about."""
    if packet_id is not None:
        trace.get_current_span().set_attribute(PACKET_ATTR, str(packet_id))


@contextmanager
def span_from(headers: Mapping[str, Any] | None, name: str, kind: trace.SpanKind, **attrs: Any) -> Iterator[trace.Span]:
    """Start a span continuing the trace carried in `headers`."""
    ctx = extract(headers)
    with tracer().start_as_current_span(name, context=ctx, kind=kind) as span:
        for k, v in attrs.items():
            if v is not None:
                span.set_attribute(k, str(v))
        yield span
