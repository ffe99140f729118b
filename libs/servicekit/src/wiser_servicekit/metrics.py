"""Prometheus metrics every service exposes at /metrics."""

from __future__ import annotations

import time

from prometheus_client import Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTTP_LATENCY = Histogram("wiser_http_request_seconds", "HTTP request latency", ["service", "method", "route", "status"])
MESSAGES_CONSUMED = Counter("wiser_messages_consumed_total", "Messages handled", ["service", "queue", "result"])
OUTBOX_LAG = Gauge("wiser_outbox_lag_seconds", "Age of the oldest unpublished outbox row", ["service"])
CREDENTIAL_REFUSALS = Counter(
    "wiser_credential_refusals_total",
    "Credential attempts refused before any hash (token or sign-in floods)",
    ["service", "reason"],
)
OUTBOX_PUBLISHED = Counter("wiser_outbox_published_total", "Outbox rows published", ["service"])
OUTBOX_PARKED = Counter("wiser_outbox_parked_total", "Outbox rows given up on (ops replays them)", ["service"])
OUTBOX_UNROUTABLE = Counter(
    "wiser_outbox_unroutable_total", "Commands the broker returned: nothing consumes them", ["service", "type"]
)


class HttpMetricsMiddleware:
    """Request latency per route, as plain ASGI (Starlette's BaseHTTPMiddleware costs a task per request)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            HTTP_LATENCY.labels(self.service, scope.get("method", ""), path, str(status)).observe(
                time.perf_counter() - start
            )
