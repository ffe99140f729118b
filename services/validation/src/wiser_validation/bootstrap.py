"""Validation's composition root."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

from wiser_contracts import topology
from wiser_servicekit import messaging, metrics
from wiser_servicekit.crypto import FieldCipher, configure_cipher
from wiser_servicekit.db import make_engine, make_sessionmaker
from wiser_servicekit.health import health_router, standard_checks
from wiser_servicekit.logs import setup_logging
from wiser_servicekit.problems import install_problem_handlers
from wiser_servicekit.telemetry import instrument_httpx, setup_telemetry

from .adapters.intake import IntakeClient
from .adapters.peers import CircuitBreaker, HetsClient, NppesClient, PecosClient, Peers, Resilience, TtlCache
from .adapters.reference_store import ReferenceStore, file_documents, load_files
from .adapters.tables import bus_leases, bus_replicas, outbox
from .config import Settings
from .entrypoints.http import router
from .entrypoints.messaging import make_handlers
from .usecases.validate import Validation

log = logging.getLogger("wiser.validation")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    setup_logging("validation", settings.log_level)
    setup_telemetry("validation", settings.otel_exporter, settings.otel_endpoint)
    instrument_httpx()
    configure_cipher(FieldCipher(settings.phi_keys, settings.phi_index_key))
    engine = make_engine(settings.database_url, settings.db_schema, settings.db_pool_size)
    if settings.otel_exporter != "none":  # a span per statement costs ~10% of the CPU: only when exported
        SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine)
    sessions = make_sessionmaker(engine)
    http = httpx.AsyncClient(timeout=settings.peer_timeout)

    def resilience() -> Resilience:
        return Resilience(
            settings.peer_timeout,
            settings.peer_attempts,
            settings.peer_backoff,
            CircuitBreaker(settings.breaker_threshold, settings.breaker_reset_seconds),
        )

    peers = Peers(
        hets=HetsClient(settings.hets_url, settings.hets_sender_id, settings.hets_receiver_id, http, resilience()),
        nppes=NppesClient(settings.nppes_url, http, resilience(), TtlCache(settings.registry_cache_seconds)),
        pecos=PecosClient(settings.pecos_url, http, resilience(), TtlCache(settings.registry_cache_seconds)),
    )
    validation = Validation(
        sessions=sessions,
        intake=IntakeClient(settings.intake_url, settings.signing_key(), settings.identity_issuer, http),
        peers=peers,
        reference=ReferenceStore(sessions),
    )
    bus = messaging.ServiceBus(
        "validation",
        settings,
        sessions,
        outbox,
        topology.VALIDATION,
        make_handlers(validation),
        (bus_leases, bus_replicas),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with sessions() as session, session.begin():
            added = await load_files(session, file_documents(settings.reference_dir))
        log.info("reference data loaded", extra={"new_versions": added})
        await bus.start()
        try:
            yield
        finally:
            await bus.stop()
            await http.aclose()
            await engine.dispose()

    app = FastAPI(
        title="WISeR validation",
        version="1.0.0",
        description="Automated checks of every packet entering `validating`, with findings and the "
        "reference data in force.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.validation = validation
    app.state.bus = bus
    install_problem_handlers(app)
    app.add_middleware(metrics.HttpMetricsMiddleware, service="validation")

    app.include_router(health_router(standard_checks(sessions, bus)))
    app.include_router(router)
    FastAPIInstrumentor.instrument_app(app, excluded_urls="health/.*,metrics")
    return app
