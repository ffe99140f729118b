"""The composition every service repeats, once: process setup, the database, and the FastAPI app around
the service's own pieces (its bus, routers, start and stop steps).

A service's `bootstrap.create_app` builds its use-case context between `runtime(...)` and `service_app(...)`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.types import ASGIApp

from . import metrics
from .crypto import FieldCipher, configure_cipher
from .db import make_engine, make_sessionmaker
from .health import Check, health_router, standard_checks
from .limits import MB, BodyLimits, UploadRoute
from .logs import setup_logging
from .problems import install_problem_handlers
from .settings import ServiceSettings
from .telemetry import instrument_httpx, setup_telemetry

Step = Callable[[], Awaitable[None]]


@dataclass
class Runtime:
    name: str
    settings: Any
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]


def runtime(name: str, settings: ServiceSettings, *, phi: bool = True) -> Runtime:
    """Logs, traces, the PHI cipher and the database engine of one service process."""
    setup_logging(name, settings.log_level)
    setup_telemetry(name, settings.otel_exporter, settings.otel_endpoint)
    instrument_httpx()
    if phi:
        configure_cipher(FieldCipher(settings.phi_keys, settings.phi_index_key))  # type: ignore[attr-defined]
    engine = make_engine(settings.database_url, settings.db_schema, settings.db_pool_size)
    if settings.otel_exporter != "none":  # a span per statement costs ~10 % of the CPU: only when exported
        SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine)
    return Runtime(name, settings, engine, make_sessionmaker(engine))


def service_app(
    rt: Runtime,
    *,
    title: str,
    description: str,
    bus: Any,
    routers: Sequence[APIRouter],
    checks: dict[str, Check] | None = None,
    before_start: Sequence[Step] = (),
    after_start: Sequence[Step] = (),
    before_stop: Sequence[Step] = (),
    after_stop: Sequence[Step] = (),
    state: dict[str, Any] | None = None,
    max_body: int = MB,
    uploads: Sequence[UploadRoute] = (),
) -> FastAPI:
    """The service's FastAPI app: problems, metrics, health, traces, and a lifespan that starts the bus.

    Every request body is at most `max_body` bytes, counted as it streams in and refused with 413 before the
    app parses it or authenticates the caller; `uploads` names the routes that take multipart documents and
    their limits (wiser_servicekit.limits)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            for step in before_start:
                await step()
        except BaseException:
            await rt.engine.dispose()
            raise
        await bus.start()
        for step in after_start:
            await step()
        try:
            yield
        finally:
            for step in before_stop:
                await step()
            await bus.stop()
            for step in after_stop:
                await step()
            await rt.engine.dispose()

    app = FastAPI(title=title, version="1.0.0", description=description, lifespan=lifespan)
    app.state.settings = rt.settings
    app.state.bus = bus
    for key, value in (state or {}).items():
        setattr(app.state, key, value)
    install_problem_handlers(app)
    app.add_middleware(metrics.HttpMetricsMiddleware, service=rt.name)
    app.add_middleware(BodyLimits, json_bytes=max_body, uploads=uploads)
    app.include_router(health_router({**standard_checks(rt.sessions, bus), **(checks or {})}))
    for router in routers:
        app.include_router(router)
    FastAPIInstrumentor.instrument_app(app, excluded_urls="health/.*,metrics")
    return app


def wrap_outermost(app: FastAPI, *wrappers: Callable[[ASGIApp], ASGIApp]) -> None:
    """Put pure-ASGI gates outside everything the app builds (error handling, tracing, metrics, body limits): the
    first wrapper innermost, the last outermost. What they refuse costs an HTTP parse and nothing more: no span,
    no access log line, no middleware chain (a flood of refusals must stay cheap)."""
    build = app.build_middleware_stack

    def build_with_gates() -> ASGIApp:
        stack = build()
        for wrap in wrappers:
            stack = wrap(stack)
        return stack

    app.build_middleware_stack = build_with_gates  # type: ignore[method-assign]
