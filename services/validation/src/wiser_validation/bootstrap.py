"""Validation's composition root."""

from __future__ import annotations

import logging
from typing import Any

import httpx
from fastapi import FastAPI

from wiser_contracts import topology
from wiser_servicekit import messaging
from wiser_servicekit.health import health_router
from wiser_servicekit.httpclient import peer_client
from wiser_servicekit.logs import setup_logging
from wiser_servicekit.parked import parked_router
from wiser_servicekit.problems import install_problem_handlers
from wiser_servicekit.service import runtime, service_app

from .adapters.intake import IntakeClient
from .adapters.peers import CircuitBreaker, HetsClient, NppesClient, PecosClient, Peers, Resilience, TtlCache
from .adapters.reference_store import FileReferences, ReferenceStore, file_documents, load_files
from .adapters.repositories import ValidationUnitOfWork
from .adapters.tables import bus_leases, bus_replicas, outbox
from .config import Settings
from .entrypoints.http import reference_router, router
from .entrypoints.messaging import make_handlers
from .usecases.ports import Intake as IntakePort
from .usecases.ports import Peers as PeersPort
from .usecases.ports import Reference, UowFactory
from .usecases.validate import Validation

log = logging.getLogger("wiser.validation")


def real_peers(settings: Settings, http: httpx.AsyncClient) -> Peers:
    def resilience() -> Resilience:
        return Resilience(
            settings.peer_timeout,
            settings.peer_attempts,
            settings.peer_backoff,
            CircuitBreaker(settings.breaker_threshold, settings.breaker_reset_seconds),
        )

    return Peers(
        hets=HetsClient(
            settings.hets_url,
            settings.hets_sender_id,
            settings.hets_receiver_id,
            http,
            resilience(),
            receiver_name=settings.information_receiver_name,
            receiver_npi=settings.information_receiver_npi,
        ),
        nppes=NppesClient(settings.nppes_url, http, resilience(), TtlCache(settings.registry_cache_seconds)),
        pecos=PecosClient(settings.pecos_url, http, resilience(), TtlCache(settings.registry_cache_seconds)),
    )


def bootstrap(
    settings: Settings,
    sessions: Any = None,
    http: httpx.AsyncClient | None = None,
    *,
    uow: UowFactory | None = None,
    intake: IntakePort | None = None,
    peers: PeersPort | None = None,
    reference: Reference | None = None,
    **clocks: Any,  # now=... (tests)
) -> Validation:
    """The use cases' ports: the real adapters unless given (tests give fakes; see tests/unit/fakes.py)."""
    if http is not None:
        intake = intake or IntakeClient(settings.intake_url, settings.signing_key(), settings.identity_issuer, http)
        peers = peers or real_peers(settings, http)
    if sessions is not None:
        uow = uow or (lambda: ValidationUnitOfWork(sessions))
        reference = reference or ReferenceStore(sessions)
    assert uow is not None and intake is not None and peers is not None and reference is not None
    return Validation(
        uow=uow,
        intake=intake,
        peers=peers,
        reference=reference,
        sessions=sessions,
        served=settings.served(),
        **clocks,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    rt = runtime("validation", settings)
    http = peer_client(timeout=settings.peer_timeout)
    validation = bootstrap(settings, rt.sessions, http)
    bus = messaging.ServiceBus(
        "validation",
        settings,
        rt.sessions,
        outbox,
        topology.VALIDATION,
        make_handlers(validation),
        (bus_leases, bus_replicas),
    )

    async def load_reference() -> None:
        async with rt.sessions() as session, session.begin():
            added = await load_files(session, file_documents(settings.reference_dir))
        log.info("reference data loaded", extra={"new_versions": added})

    return service_app(
        rt,
        title="WISeR validation",
        description="Automated checks of every packet entering `validating`, with findings and the "
        "reference data in force.",
        bus=bus,
        # Its parked messages and wiser.unrouted, listed and replayed by ops (servicekit.parked).
        routers=[
            router,
            reference_router,
            parked_router(topology.VALIDATION, lambda r: r.app.state.settings.identity_verifier()),
        ],
        before_start=[load_reference],
        after_stop=[http.aclose],
        state={"validation": validation, "reference": validation.reference},
    )


def create_reference_app(settings: Settings | None = None) -> FastAPI:
    """Validation's reference API alone, from its files: no database, no bus (tests and tools that need the
    shared lists, e.g. intake's dismissal reasons, without a validation that would also validate)."""
    settings = settings or Settings()
    setup_logging("validation", settings.log_level)
    app = FastAPI(title="WISeR validation reference data", version="1.0.0")
    app.state.settings = settings
    app.state.reference = FileReferences(settings.reference_dir)
    install_problem_handlers(app)
    app.include_router(health_router({}))
    app.include_router(reference_router)
    return app
