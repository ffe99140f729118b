"""Outbound's composition root: `bootstrap` gives the use cases their ports (real adapters unless given
others: tests pass fakes); `create_app` wraps them in the service (bus, scheduler, routes)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI, Request
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wiser_contracts import topology
from wiser_servicekit import messaging
from wiser_servicekit.httpclient import peer_client
from wiser_servicekit.parked import parked_router
from wiser_servicekit.seal import Sealer
from wiser_servicekit.service import runtime, service_app

from .adapters.channels import EmailClient, EsmdClient, FaxClient, MailClient
from .adapters.intake import IntakeClient
from .adapters.letters import LettersClient
from .adapters.repositories import OutboundUnitOfWork
from .adapters.tables import bus_leases, bus_replicas, channel_settings, outbox
from .adapters.webhook_sender import HttpWebhookSender
from .config import Settings
from .domain.retry import Breakers, Schedule, parse_delays
from .entrypoints.http import callbacks_router, router
from .entrypoints.messaging import make_handlers
from .usecases.context import Outbound, utcnow
from .usecases.ports import Channel, LetterSource, PacketSource, UnitOfWork, WebhookSender
from .usecases.scheduler import Scheduler

CHANNELS = ("webhook", "fax", "mail", "esmd", "email")


def default_schedules(settings: Settings) -> dict[str, Schedule]:
    return {
        c: Schedule(parse_delays(getattr(settings, f"{c}_delays")), getattr(settings, f"{c}_budget_seconds"))
        for c in CHANNELS
    }


def channels_for(settings: Settings, http: httpx.AsyncClient) -> dict[str, Channel]:
    callback, timeout = settings.callback_base_url.rstrip("/"), settings.peer_timeout
    return {
        "fax": FaxClient(settings.fax_url, settings.fax_api_key, f"{callback}/callbacks/fax", http, timeout),
        "mail": MailClient(settings.mail_url, settings.mail_api_key, f"{callback}/callbacks/mail", http, timeout),
        "esmd": EsmdClient(settings.esmd_url, http, timeout),
        "email": EmailClient(
            settings.smtp_host, settings.smtp_port, settings.smtp_from, settings.portal_url,
            settings.email_status_url, http, timeout, settings.smtp_verify_tls(),
        ),
    }  # fmt: skip


def _sql_uow(sessions: async_sessionmaker[AsyncSession]) -> Callable[[], UnitOfWork]:
    def make() -> UnitOfWork:
        return OutboundUnitOfWork(sessions)

    return make


def bootstrap(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession] | None,
    http: httpx.AsyncClient | None = None,
    *,
    uow: Callable[[], UnitOfWork] | None = None,
    intake: PacketSource | None = None,
    letters: LetterSource | None = None,
    webhooks: WebhookSender | None = None,
    channels: dict[str, Channel] | None = None,
    clock: Callable[[], Any] = utcnow,
) -> Outbound:
    """The use cases' ports: real adapters unless others are given."""
    key, issuer = settings.signing_key(), settings.identity_issuer
    if uow is None:
        assert sessions is not None
        uow = _sql_uow(sessions)
    if http is None and (intake is None or letters is None or channels is None):
        http = peer_client(timeout=settings.peer_timeout)
    return Outbound(
        uow=uow,
        intake=intake or IntakeClient(settings.intake_url, key, issuer, http),  # type: ignore[arg-type]
        letters=letters or LettersClient(settings.letters_url, key, issuer, http),  # type: ignore[arg-type]
        webhooks=webhooks
        or HttpWebhookSender(
            httpx.AsyncClient(timeout=settings.webhook_timeout, follow_redirects=False),
            settings.allow_list(),
            settings.webhook_timeout,
        ),
        sealer=Sealer(settings.webhook_seal_keys),
        schedules=default_schedules(settings),
        breakers=Breakers(settings.breaker_threshold, settings.breaker_reset_seconds),
        channels=channels if channels is not None else channels_for(settings, http),  # type: ignore[arg-type]
        clock=clock,
        batch=settings.batch,
        claim_seconds=settings.claim_seconds,
        catch_up=timedelta(minutes=settings.webhook_catch_up_minutes),
        sessions=sessions,
    )


def _verifier(request: Request) -> Any:
    return request.app.state.settings.identity_verifier()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    rt = runtime("outbound", settings)
    http = peer_client(timeout=settings.peer_timeout)
    ctx = bootstrap(settings, rt.sessions, http)
    bus = messaging.ServiceBus(
        "outbound", settings, rt.sessions, outbox, topology.OUTBOUND, make_handlers(ctx), (bus_leases, bus_replicas)
    )
    scheduler = Scheduler(ctx, settings.poll_seconds)

    async def load_channel_settings() -> None:
        """Each channel's schedule and budget: the table's, or the settings' defaults written there at first start."""
        async with rt.sessions() as session, session.begin():
            for name, schedule in default_schedules(settings).items():
                await session.execute(
                    insert(channel_settings)
                    .values(
                        channel=name,
                        delays=list(schedule.delays),
                        budget_seconds=schedule.budget_seconds,
                        breaker_threshold=settings.breaker_threshold,
                        breaker_reset_seconds=settings.breaker_reset_seconds,
                    )
                    .on_conflict_do_nothing()
                )
            rows = (await session.execute(channel_settings.select())).all()
        for row in rows:
            ctx.schedules[row.channel] = Schedule(tuple(row.delays), row.budget_seconds)

    async def start_scheduler() -> None:
        scheduler.start()

    async def close_clients() -> None:
        await http.aclose()
        close = getattr(ctx.webhooks, "aclose", None)
        if close is not None:
            await close()

    return service_app(
        rt,
        title="WISeR outbound",
        description="Letters to requesters and beneficiaries (fax, mail, esMD, email), partner webhooks, "
        "retries, confirmations, and the ops view of every attempt.",
        bus=bus,
        routers=[router, callbacks_router, parked_router(topology.OUTBOUND, _verifier)],
        before_start=[load_channel_settings],
        after_start=[start_scheduler],
        before_stop=[scheduler.stop],
        after_stop=[close_clients],
        state={"outbound": ctx, "scheduler": scheduler},
    )
