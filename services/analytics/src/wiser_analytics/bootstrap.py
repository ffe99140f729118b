"""Analytics' composition root."""

from __future__ import annotations

from fastapi import FastAPI

from wiser_contracts import topology
from wiser_servicekit import messaging
from wiser_servicekit.httpclient import peer_client
from wiser_servicekit.parked import parked_router
from wiser_servicekit.service import runtime, service_app

from .adapters.intake import HistoryClient
from .adapters.store import SqlReadModel
from .adapters.tables import bus_leases, bus_replicas, outbox
from .config import Settings
from .entrypoints.http import ops_router, router
from .entrypoints.messaging import make_handlers


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    rt = runtime("analytics", settings, phi=False)
    http = peer_client(timeout=settings.peer_timeout)
    model = SqlReadModel(rt.sessions)
    history = HistoryClient(
        settings.intake_ops_url, settings.history_export_path, settings.signing_key(), settings.identity_issuer, http
    )
    bus = messaging.ServiceBus(
        "analytics",
        settings,
        rt.sessions,
        outbox,
        topology.ANALYTICS,
        make_handlers(model),
        (bus_leases, bus_replicas),
    )
    return service_app(
        rt,
        title="WISeR analytics",
        description="Read models from intake's and clinical's events: status, aging, SLA compliance, the "
        "CMS-0057-F style metrics, throughput, reviewers, outcomes, dismissals, channels and gold-card "
        "candidates, as JSON, CSV and a PDF report; rebuildable from intake's history.",
        bus=bus,
        routers=[
            router,
            ops_router,
            parked_router(topology.ANALYTICS, lambda r: r.app.state.settings.identity_verifier()),
        ],
        after_stop=[http.aclose],
        state={"sessions": rt.sessions, "read_model": model, "history": history},
    )
