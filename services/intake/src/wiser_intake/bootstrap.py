"""Intake's composition root: engine, S3, the bus (relay, partitioned consumer), routes."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wiser_contracts import topology
from wiser_servicekit import messaging
from wiser_servicekit.guard import GuardGate
from wiser_servicekit.httpclient import peer_client
from wiser_servicekit.limits import Multipart, UploadRoute
from wiser_servicekit.logs import quiet_access_refusals
from wiser_servicekit.parked import parked_router
from wiser_servicekit.service import runtime, service_app, wrap_outermost
from wiser_servicekit.settings import demo_data_allowed, refuse_demo_data
from wiser_servicekit.surfaces import PortSurfaces

from .adapters.partners import active_partners
from .adapters.reference import ValidationReference
from .adapters.repositories import IntakeUnitOfWork
from .adapters.storage import DocumentStore
from .adapters.tables import bus_leases, bus_replicas, outbox
from .config import Settings
from .domain.documents import MAX_DOCUMENT_BYTES, MAX_DOCUMENTS
from .entrypoints.deps import install_refusals
from .entrypoints.http import ops_router, partner_router
from .entrypoints.messaging import make_handlers
from .entrypoints.on_behalf import CommandAuthority, configure_command_authority
from .usecases.common import now
from .usecases.context import Intake
from .usecases.housekeeping import sweep_orphans
from .usecases.packets import housekeeping
from .usecases.ports import Clock, DismissalReasons, DocumentStorage, UowFactory

log = logging.getLogger("wiser.intake")
DEMO_PARTNER = "demo-partner"
# What listens on the ops port (8101) only; everything else but /health/* on the partner port (8001).
INTERNAL_PREFIXES = ("/api/v1/ops", "/ops", "/metrics")
OPS_OPENAPI = "/api/v1/ops/openapi.json"
TOKEN_PATH = "/oauth/token"  # noqa: S105 - a route, not a secret
# The routes that take multipart documents, and how much (PARTNER_API.md): every other body is JSON or a
# form of at most 1 MB. Enforced while the body streams in, before parsing and before authentication.
UPLOADS = (
    UploadRoute("POST", r"/api/v1/packets", Multipart(files=MAX_DOCUMENTS, file_bytes=MAX_DOCUMENT_BYTES, fields=5)),
    UploadRoute(
        "POST", r"/api/v1/packets/[^/]+/documents", Multipart(files=1, file_bytes=MAX_DOCUMENT_BYTES, fields=5)
    ),
)


def _is_internal(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in INTERNAL_PREFIXES)


def split_openapi(app: FastAPI) -> None:
    """/openapi.json (partner port) documents the partner API only; the ops API's own document is at
    /api/v1/ops/openapi.json, on the ops port."""
    whole = app.openapi
    full: dict[str, Any] = {}

    def part(internal: bool, title: str) -> dict[str, Any]:
        if not full:
            app.openapi_schema = None
            full.update(copy.deepcopy(whole()))  # FastAPI's own, for every route
        schema = copy.deepcopy(full)
        schema["info"]["title"] = title
        schema["paths"] = {p: v for p, v in full["paths"].items() if _is_internal(p) == internal}
        return schema

    partner_schema: dict[str, Any] = {}

    def partner_openapi() -> dict[str, Any]:
        if not partner_schema:
            partner_schema.update(part(False, app.title))
        app.openapi_schema = partner_schema
        return partner_schema

    ops_schema: dict[str, Any] = {}

    async def ops_openapi() -> JSONResponse:
        if not ops_schema:
            ops_schema.update(part(True, "WISeR intake ops API"))
        return JSONResponse(ops_schema)

    app.openapi = partner_openapi  # type: ignore[method-assign]
    app.add_api_route(OPS_OPENAPI, ops_openapi, include_in_schema=False)


async def refuse_demo_partner(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Outside dev, stop the start while the demo partner can still sign in."""
    if demo_data_allowed(settings.env):
        return
    async with sessions() as session:
        demo = {DEMO_PARTNER, settings.demo_partner_id, *(f"demo-{c}" for c in ("esmd", "fax", "mail", "portal"))}
        found = await active_partners(session, demo)
    refuse_demo_data(settings, [f"partner client {client_id}" for client_id in found])


def document_store(settings: Settings) -> DocumentStore:
    return DocumentStore(
        settings.s3_bucket,
        settings.s3_endpoint_url,
        settings.s3_region,
        settings.s3_access_key,
        settings.s3_secret_key,
        settings.s3_sse or None,
    )


def bootstrap(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    uow: UowFactory | None = None,
    store: DocumentStorage | None = None,
    reference: DismissalReasons | None = None,
    http: httpx.AsyncClient | None = None,
    clock: Clock = now,
) -> Intake:
    """The use cases' ports: the real adapters unless given (tests give fakes; see tests/unit/fakes.py)."""
    if reference is None:
        assert http is not None, "the reference adapter needs an HTTP client"
        reference = ValidationReference(
            settings.validation_url,
            settings.signing_key(),
            settings.identity_issuer,
            http,
            ttl=settings.reference_cache_seconds,
        )
    return Intake(
        settings=settings,
        uow=uow or (lambda: IntakeUnitOfWork(sessions)),
        store=store or document_store(settings),
        reference=reference,
        sessions=sessions,
        clock=clock,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    rt = runtime("intake", settings)
    configure_command_authority(CommandAuthority(settings.identity_verifier(), settings.command_token_max_age))
    http = peer_client()
    store = document_store(settings)
    ctx = bootstrap(settings, rt.sessions, store=store, http=http)
    bus = messaging.ServiceBus(
        "intake", settings, rt.sessions, outbox, topology.INTAKE, make_handlers(ctx), (bus_leases, bus_replicas)
    )
    keeper: list[asyncio.Task[None]] = []

    async def housekeeping_loop() -> None:
        loop_time = asyncio.get_running_loop().time
        last_sweep = loop_time()
        while True:
            await asyncio.sleep(settings.housekeeping_interval)
            try:
                await housekeeping(ctx)
                if loop_time() - last_sweep >= settings.orphan_sweep_interval:
                    last_sweep = loop_time()
                    result = await sweep_orphans(ctx)
                    if result["deleted"]:
                        log.warning("swept document objects whose row never committed", extra=result)
            except Exception:
                log.exception("housekeeping failed")

    async def refuse_demo() -> None:
        await refuse_demo_partner(settings, rt.sessions)

    async def start_housekeeping() -> None:
        keeper.append(asyncio.create_task(housekeeping_loop()))
        log.info("intake started")

    async def stop_housekeeping() -> None:
        for task in keeper:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = service_app(
        rt,
        title="WISeR intake",
        description="Partner API (submit and track prior-authorization packets) and the ops API behind the gateway.",
        bus=bus,
        # Its parked messages and wiser.unrouted, listed and replayed by ops (servicekit.parked), on the ops port.
        routers=[
            partner_router,
            ops_router,
            parked_router(topology.INTAKE, lambda r: r.app.state.settings.identity_verifier(), prefix="/api/v1/ops"),
        ],
        checks={"s3": store.ping},
        before_start=[refuse_demo, store.ensure_bucket],
        after_start=[start_housekeeping],
        before_stop=[stop_housekeeping],
        after_stop=[http.aclose],
        state={"intake": ctx},
        uploads=UPLOADS,
    )
    install_refusals(app)
    split_openapi(app)
    # Outside everything the app builds: which port serves which surface, then a flood of /oauth/token from one
    # address refused before anything else runs (no span, no middleware, no access line: see RefusalLog).
    wrap_outermost(
        app,
        lambda inner: GuardGate(
            inner,
            guard=ctx.guard,
            paths=(TOKEN_PATH,),
            trusted_proxies=settings.trusted_proxies,
            refusals=ctx.refusals,
        ),
        lambda inner: PortSurfaces(
            inner,
            public_port=settings.http_port,
            internal_port=settings.ops_port,
            internal_prefixes=INTERNAL_PREFIXES,
        ),
    )
    quiet_access_refusals(TOKEN_PATH)
    return app
