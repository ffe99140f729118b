"""Intake's composition root: engine, S3, the bus (relay, partitioned consumer), routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wiser_contracts import topology
from wiser_servicekit import messaging, metrics
from wiser_servicekit.crypto import FieldCipher, configure_cipher
from wiser_servicekit.db import make_engine, make_sessionmaker
from wiser_servicekit.health import health_router, standard_checks
from wiser_servicekit.logs import setup_logging
from wiser_servicekit.problems import install_problem_handlers
from wiser_servicekit.settings import DemoDataRefused, demo_data_allowed, refuse_demo_data
from wiser_servicekit.telemetry import instrument_httpx, setup_telemetry

from .adapters.partners import active_partners
from .adapters.storage import DocumentStore
from .adapters.tables import bus_leases, bus_replicas, outbox
from .config import Settings
from .entrypoints.http import ops_router, partner_router
from .entrypoints.messaging import make_handlers
from .entrypoints.on_behalf import CommandAuthority, configure_command_authority
from .usecases.context import Intake
from .usecases.packets import housekeeping

log = logging.getLogger("wiser.intake")
DEMO_PARTNER = "demo-partner"


async def refuse_demo_partner(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Outside dev, stop the start while the demo partner can still sign in."""
    if demo_data_allowed(settings.env):
        return
    async with sessions() as session:
        found = await active_partners(session, {DEMO_PARTNER, settings.demo_partner_id})
    refuse_demo_data(settings, [f"partner client {client_id}" for client_id in found])


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    setup_logging("intake", settings.log_level)
    setup_telemetry("intake", settings.otel_exporter, settings.otel_endpoint)
    instrument_httpx()
    configure_cipher(FieldCipher(settings.phi_keys, settings.phi_index_key))
    configure_command_authority(CommandAuthority(settings.identity_verifier(), settings.command_token_max_age))
    engine = make_engine(settings.database_url, settings.db_schema, settings.db_pool_size)
    if settings.otel_exporter != "none":  # a span per statement costs ~10% of the CPU: only when exported
        SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine)
    sessions = make_sessionmaker(engine)
    store = DocumentStore(
        settings.s3_bucket,
        settings.s3_endpoint_url,
        settings.s3_region,
        settings.s3_access_key,
        settings.s3_secret_key,
        settings.s3_sse or None,
    )
    ctx = Intake(settings=settings, sessions=sessions, store=store)
    bus = messaging.ServiceBus(
        "intake", settings, sessions, outbox, topology.INTAKE, make_handlers(ctx), (bus_leases, bus_replicas)
    )

    async def housekeeping_loop() -> None:
        while True:
            await asyncio.sleep(settings.housekeeping_interval)
            try:
                await housekeeping(ctx)
            except Exception:
                log.exception("housekeeping failed")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await refuse_demo_partner(settings, sessions)
        except DemoDataRefused:
            await engine.dispose()
            raise
        await store.ensure_bucket()
        await bus.start()
        keeper = asyncio.create_task(housekeeping_loop())
        log.info("intake started")
        try:
            yield
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            await bus.stop()
            await engine.dispose()

    app = FastAPI(
        title="WISeR intake",
        version="1.0.0",
        description="Partner API (submit and track prior-authorization packets) and the ops API behind the gateway.",
        lifespan=lifespan,
    )
    app.state.intake = ctx
    app.state.bus = bus
    install_problem_handlers(app)
    app.add_middleware(metrics.HttpMetricsMiddleware, service="intake")

    app.include_router(health_router({**standard_checks(sessions, bus), "s3": store.ping}))
    app.include_router(partner_router)
    app.include_router(ops_router)
    FastAPIInstrumentor.instrument_app(app, excluded_urls="health/.*,metrics")
    return app
