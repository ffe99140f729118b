"""Validation's composition root."""

from __future__ import annotations

import logging

import httpx
from fastapi import FastAPI

from wiser_contracts import topology
from wiser_servicekit import messaging
from wiser_servicekit.service import runtime, service_app

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
    rt = runtime("validation", settings)
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
        sessions=rt.sessions,
        intake=IntakeClient(settings.intake_url, settings.signing_key(), settings.identity_issuer, http),
        peers=peers,
        reference=ReferenceStore(rt.sessions),
    )
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
        routers=[router],
        before_start=[load_reference],
        after_stop=[http.aclose],
        state={"validation": validation},
    )
