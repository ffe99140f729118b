"""Prometheus metrics every service exposes at /metrics."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from prometheus_client import Counter, Gauge, Histogram
from starlette.requests import Request
from starlette.responses import Response

HTTP_LATENCY = Histogram("wiser_http_request_seconds", "HTTP request latency", ["service", "method", "route", "status"])
MESSAGES_CONSUMED = Counter("wiser_messages_consumed_total", "Messages handled", ["service", "queue", "result"])
OUTBOX_LAG = Gauge("wiser_outbox_lag_seconds", "Age of the oldest unpublished outbox row", ["service"])
OUTBOX_PUBLISHED = Counter("wiser_outbox_published_total", "Outbox rows published", ["service"])
QUEUE_DEPTH = Gauge("wiser_queue_depth", "Messages ready in a queue", ["service", "queue"])
SLA_AT_RISK = Gauge("wiser_packets_at_risk", "Open packets within the at-risk window of due_at", ["service"])


def http_metrics_middleware(
    service: str,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    async def middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        HTTP_LATENCY.labels(service, request.method, path, str(response.status_code)).observe(
            time.perf_counter() - start
        )
        return response

    return middleware
