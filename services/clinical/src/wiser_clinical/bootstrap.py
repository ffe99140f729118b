"""Clinical's composition root."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from wiser_contracts import topology
from wiser_servicekit import messaging
from wiser_servicekit.httpclient import peer_client
from wiser_servicekit.parked import parked_router
from wiser_servicekit.service import runtime, service_app

from .adapters.intake import IntakeClient
from .adapters.mac import MacClient
from .adapters.repository import SqlUnitOfWork
from .adapters.tables import bus_leases, bus_replicas, outbox
from .adapters.utn_worker import UtnWorker
from .config import Settings
from .entrypoints.http import install_refusals, router
from .entrypoints.messaging import make_handlers
from .reference import load_checklists
from .usecases.assignment import assign_waiting
from .usecases.ports import Clinical, PeerToPeer, utc_now
from .usecases.utn import request_due_utns


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    rt = runtime("clinical", settings, phi=False)  # clinical keeps no PHI: it reads it from intake when shown
    http = peer_client(timeout=10)
    ctx = Clinical(
        uow=lambda: SqlUnitOfWork(rt.sessions),
        intake=IntakeClient(settings.intake_url, settings.signing_key(), settings.identity_issuer, http),
        mac=MacClient(settings.mac_url, http, settings.mac_timeout),
        checklists=load_checklists(utc_now().date(), settings.reference_dir),
        peer_to_peer=PeerToPeer(settings.p2p_phone, settings.p2p_hours, settings.p2p_how),
        at_risk_window=timedelta(hours=settings.at_risk_hours),
        utn_retry_base=settings.utn_retry_base_seconds,
        utn_retry_max=settings.utn_retry_max_seconds,
    )

    async def background_step() -> int:
        # Waiting cases are assigned as events come; this also catches what changed without one (a crash between
        # a case's commit and its assignment, a licence that became valid today).
        await assign_waiting(ctx)
        return await request_due_utns(ctx)

    worker = UtnWorker(background_step, settings.utn_poll_seconds)
    ctx.on_determined = worker.wake
    bus = messaging.ServiceBus(
        "clinical", settings, rt.sessions, outbox, topology.CLINICAL, make_handlers(ctx), (bus_leases, bus_replicas)
    )
    app = service_app(
        rt,
        title="WISeR clinical",
        description="Clinical review: the queue, assignment by licence and capacity, nurse and medical-director "
        "review against criteria checklists, expedited confirmation, determinations per service line and the "
        "MAC's UTN.",
        bus=bus,
        routers=[router, parked_router(topology.CLINICAL, lambda r: r.app.state.settings.identity_verifier())],
        after_start=[worker.start],
        before_stop=[worker.stop],
        after_stop=[http.aclose],
        state={"clinical": ctx},
    )
    install_refusals(app)
    return app
