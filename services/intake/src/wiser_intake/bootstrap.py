"""Intake's composition root: engine, S3, the bus (relay, partitioned consumer), routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wiser_contracts import topology
from wiser_servicekit import messaging
from wiser_servicekit.service import runtime, service_app
from wiser_servicekit.settings import demo_data_allowed, refuse_demo_data

from .adapters.partners import active_partners
from .adapters.storage import DocumentStore
from .adapters.tables import bus_leases, bus_replicas, outbox
from .config import Settings
from .entrypoints.deps import install_refusals
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
    rt = runtime("intake", settings)
    configure_command_authority(CommandAuthority(settings.identity_verifier(), settings.command_token_max_age))
    store = DocumentStore(
        settings.s3_bucket,
        settings.s3_endpoint_url,
        settings.s3_region,
        settings.s3_access_key,
        settings.s3_secret_key,
        settings.s3_sse or None,
    )
    ctx = Intake(settings=settings, sessions=rt.sessions, store=store)
    bus = messaging.ServiceBus(
        "intake", settings, rt.sessions, outbox, topology.INTAKE, make_handlers(ctx), (bus_leases, bus_replicas)
    )
    keeper: list[asyncio.Task[None]] = []

    async def housekeeping_loop() -> None:
        while True:
            await asyncio.sleep(settings.housekeeping_interval)
            try:
                await housekeeping(ctx)
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
        routers=[partner_router, ops_router],
        checks={"s3": store.ping},
        before_start=[refuse_demo, store.ensure_bucket],
        after_start=[start_housekeeping],
        before_stop=[stop_housekeeping],
        state={"intake": ctx},
    )
    install_refusals(app)
    return app
