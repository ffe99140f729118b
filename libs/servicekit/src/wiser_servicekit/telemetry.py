"""OpenTelemetry: one tracer provider per process, W3C context in AMQP headers and outbox rows.

Spans carry no PHI: every exporter sits behind `PhiScrubber`, which drops URL query strings (searches carry
names and MBIs) from span names and attributes, and keeps only the type of a recorded exception (messages
and stack traces quote the data that failed: a name, an MBI, a date of birth).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Sampler, SamplingResult
from opentelemetry.trace import Status, TraceState
from opentelemetry.util.types import Attributes

PACKET_ATTR = "wiser.packet_id"
_memory_exporter: InMemorySpanExporter | None = None
_instrumented_httpx = False
_exporting = False  # some exporter is installed: spans are recorded


class WhileExporting(Sampler):
    """Records spans only once some exporter is installed. Without one (the default), a span is not recorded but
    its trace and span ids are still made and carried (logs, AMQP and outbox headers), so a packet keeps one trace
    id across services at a fraction of the cost of recording spans nobody reads (about 5 % of a consumer's CPU)."""

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: trace.SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[trace.Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        decide = ALWAYS_ON if _exporting else ALWAYS_OFF
        return decide.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return "WhileExporting"


def setup_telemetry(service_name: str, exporter: str = "none", endpoint: str | None = None) -> TracerProvider:
    """Install the process's tracer provider once; later calls only add exporters."""
    global _memory_exporter, _exporting
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        provider = current
    else:
        provider = TracerProvider(resource=Resource.create({"service.name": service_name}), sampler=WhileExporting())
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
        provider.add_span_processor(PhiScrubber(processor))
        _exporting = True
    return provider


# Attributes that hold a URL or a request target (old and new HTTP semantic conventions): kept without the query.
_URL_ATTRS = frozenset({"http.url", "http.target", "url.full", "url.path", "http.route", "url.original"})
# Attributes that are nothing but a query string, or an exception's words: dropped.
_DROPPED_ATTRS = frozenset({"url.query", "exception.message", "exception.stacktrace", "db.query.parameter"})
_EXCEPTION_KEPT = frozenset({"exception.type", "exception.escaped"})


def _no_query(value: Any) -> Any:
    if isinstance(value, str):
        return value.split("?", 1)[0].split("#", 1)[0]
    return value


def scrub(span: ReadableSpan) -> ReadableSpan:
    """The span as it may leave the process: no query strings, exceptions as their type only."""
    attributes = {
        key: _no_query(value) if key in _URL_ATTRS else value
        for key, value in (span.attributes or {}).items()
        if key not in _DROPPED_ATTRS
    }
    events = []
    for event in span.events:
        attrs = dict(event.attributes or {})
        if event.name == "exception":
            attrs = {k: v for k, v in attrs.items() if k in _EXCEPTION_KEPT}
        else:
            attrs = {k: _no_query(v) if k in _URL_ATTRS else v for k, v in attrs.items() if k not in _DROPPED_ATTRS}
        events.append(Event(event.name, attrs, event.timestamp))
    status = span.status
    if status.description:  # "ValueError: <the value that failed>" -> the type only
        status = Status(status.status_code, status.description.split(":", 1)[0])
    return ReadableSpan(
        name=_no_query(span.name),
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=attributes,
        events=events,
        links=span.links,
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class PhiScrubber(SpanProcessor):
    """Hands the wrapped processor (and so its exporter) each finished span scrubbed of PHI."""

    def __init__(self, inner: SpanProcessor) -> None:
        self.inner = inner

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self.inner.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        self.inner.on_end(scrub(span))

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


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
