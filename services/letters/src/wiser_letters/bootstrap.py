"""Letters' composition root."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from fastapi import FastAPI

from wiser_contracts import topology
from wiser_servicekit import messaging
from wiser_servicekit.httpclient import peer_client
from wiser_servicekit.parked import parked_router
from wiser_servicekit.service import runtime, service_app

from .adapters.peers import ClinicalClient, IntakeClient, ReferenceClient
from .adapters.render import register_fonts, render
from .adapters.repository import SqlUnitOfWork, load_templates
from .adapters.storage import PdfStore
from .adapters.tables import bus_leases, bus_replicas, outbox
from .config import Settings
from .entrypoints.http import install_refusals, router
from .entrypoints.messaging import make_handlers
from .usecases.context import Letters
from .usecases.drafting import sweep_waiting_for_utn

log = logging.getLogger("wiser.letters")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    rt = runtime("letters", settings)
    http = peer_client(timeout=settings.peer_timeout)
    key, issuer = settings.signing_key(), settings.identity_issuer
    store = PdfStore(
        settings.s3_bucket,
        settings.s3_endpoint_url or None,
        settings.s3_region,
        settings.s3_access_key or None,
        settings.s3_secret_key or None,
        settings.s3_sse or None,
    )
    letters = Letters(
        uow=lambda: SqlUnitOfWork(rt.sessions),
        intake=IntakeClient(settings.intake_url, key, issuer, http),
        clinical=ClinicalClient(settings.clinical_url, key, issuer, http),
        reference=ReferenceClient(settings.validation_url, key, issuer, http),
        store=store,
        render=render,
        clock=lambda: datetime.now(UTC),
        contact=settings.contact(),
        auto_approve_affirmations=settings.auto_approve_affirmations,
        default_peer_to_peer={
            "phone": settings.peer_to_peer_phone,
            "hours": settings.peer_to_peer_hours,
            "how": settings.peer_to_peer_how,
        },
    )
    bus = messaging.ServiceBus(
        "letters", settings, rt.sessions, outbox, topology.LETTERS, make_handlers(letters), (bus_leases, bus_replicas)
    )

    sweeper: list[asyncio.Task[None]] = []

    async def sweep_forever() -> None:
        while True:
            await asyncio.sleep(settings.utn_sweep_seconds)
            try:
                await sweep_waiting_for_utn(letters)
            except Exception:  # the database away for a moment: the next round tries again
                log.warning("UTN sweep failed", exc_info=True)

    async def start_sweeper() -> None:
        sweeper.append(asyncio.create_task(sweep_forever()))

    async def stop_sweeper() -> None:
        for task in sweeper:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def prepare() -> None:
        fonts = register_fonts()  # fails fast when the fonts are missing
        async with rt.sessions() as session, session.begin():
            added = await load_templates(session)
        await store.ensure_bucket()
        log.info("letters ready", extra={"new_template_versions": added, "fonts": fonts})

    app = service_app(
        rt,
        title="WISeR letters",
        description="Decision letters as PDFs: drafted when a packet is determined, checked for every required "
        "element, approved by a person (or by policy for clean affirmations), stored encrypted.",
        bus=bus,
        routers=[router, parked_router(topology.LETTERS, lambda r: r.app.state.settings.identity_verifier())],
        checks={"s3": store.ping},
        before_start=[prepare],
        after_start=[start_sweeper],
        before_stop=[stop_sweeper],
        after_stop=[http.aclose],
        state={"letters": letters},
    )
    install_refusals(app)
    return app
