"""The gateway's composition root."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wiser_servicekit import messaging, metrics
from wiser_servicekit.clients import HashPool
from wiser_servicekit.db import make_engine, make_sessionmaker
from wiser_servicekit.guard import CredentialGuard
from wiser_servicekit.health import health_router, standard_checks
from wiser_servicekit.httpclient import peer_client
from wiser_servicekit.limits import BodyLimits
from wiser_servicekit.logs import setup_logging
from wiser_servicekit.settings import DemoDataRefused, demo_data_allowed, refuse_demo_data
from wiser_servicekit.telemetry import instrument_httpx, setup_telemetry

from .adapters.services import (
    AnalyticsClient,
    ClinicalClient,
    IntakeClient,
    LettersClient,
    OutboundClient,
    ParkedClient,
    Services,
    ValidationClient,
)
from .config import Settings
from .domain.auth import ROLES, SessionPolicy
from .entrypoints import web
from .entrypoints.live import Hub, subscribe_live
from .usecases import accounts

log = logging.getLogger("wiser.gateway")
STATIC = Path(__file__).parent / "static"


async def refuse_demo_users(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Outside dev, stop the start while demo users can still sign in."""
    if not demo_data_allowed(settings.env):
        found = await accounts.demo_users(sessions, {accounts.DEMO_PASSWORD, settings.demo_password})
        refuse_demo_data(settings, [f"demo user {name}" for name in found])


async def seed_demo_users(settings: Settings, sessions: object) -> None:
    """One demo user per role, username = role, when WISER_ENV=dev (refused elsewhere at start-up)."""
    if not demo_data_allowed(settings.env):
        return
    async with sessions() as session, session.begin():  # type: ignore[operator]
        for role in ROLES:
            await accounts.upsert_user(
                session, role, role.replace("_", " ").title() + " (demo)", settings.demo_password, [role]
            )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    setup_logging("gateway", settings.log_level)
    setup_telemetry("gateway", settings.otel_exporter, settings.otel_endpoint)
    instrument_httpx()
    engine = make_engine(settings.database_url, settings.db_schema, settings.db_pool_size)
    sessions = make_sessionmaker(engine)
    http = peer_client(timeout=15)
    broker = messaging.make_broker(settings.amqp_url, "gateway")
    hub = Hub()
    subscribe_live(broker, hub)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await refuse_demo_users(settings, sessions)
        except DemoDataRefused:
            await http.aclose()
            await engine.dispose()
            raise
        await seed_demo_users(settings, sessions)
        await broker.start()
        try:
            yield
        finally:
            await broker.stop()
            await http.aclose()
            await engine.dispose()

    app = FastAPI(title="WISeR gateway", version="1.0.0", lifespan=lifespan, docs_url=None, redoc_url=None)
    st = app.state
    st.settings = settings
    st.sessions = sessions
    st.services = Services(
        http,
        {
            "intake": settings.intake_url.rstrip("/"),
            "validation": settings.validation_url.rstrip("/"),
            "outbound": settings.outbound_url.rstrip("/"),
            "analytics": settings.analytics_url.rstrip("/"),
            "clinical": settings.clinical_url.rstrip("/"),
            "letters": settings.letters_url.rstrip("/"),
        },
        settings.signing_key(),
        settings.identity_ttl,
    )
    st.intake = IntakeClient(st.services)
    st.validation = ValidationClient(st.services)
    st.outbound = OutboundClient(st.services)
    st.parked = ParkedClient(st.services)
    st.analytics = AnalyticsClient(st.services)
    st.clinical = ClinicalClient(st.services)
    st.letters = LettersClient(st.services)
    st.hub = hub
    st.signin_guard = CredentialGuard(
        per_address_per_minute=settings.signin_per_minute,
        lock_after=settings.lockout_attempts,
        lock_minutes=settings.lockout_minutes,
        name_failures_per_minute=settings.signin_failures_per_user_per_minute,
        address_failures_per_minute=settings.signin_failures_per_address_per_minute,
    )
    st.hashes = HashPool()
    st.session_policy = SessionPolicy(
        timedelta(minutes=settings.session_idle_minutes), timedelta(hours=settings.session_absolute_hours)
    )
    web.install(app)
    app.include_router(web.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    app.include_router(health_router(standard_checks(sessions, broker)))
    app.add_middleware(metrics.HttpMetricsMiddleware, service="gateway")
    app.add_middleware(web.security_headers(settings.force_https))
    # Every body (forms, JSON) at most 1 MB, counted as it streams in, before parsing and before the session.
    app.add_middleware(BodyLimits)
    FastAPIInstrumentor.instrument_app(app, excluded_urls="health/.*,metrics,static/.*,events")
    return app
