"""A partner's webhook subscriptions (PARTNER_API.md): register, list, read, remove.

Intake is the partner's front door; outbound owns the subscriptions and delivers (services/outbound/README.md):
each registration and removal goes to outbound as an event in the same unit of work, the signing secret sealed
for outbound (intake keeps its own copy encrypted at rest).
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import uuid
from typing import Any

from wiser_contracts import messages as m
from wiser_servicekit.seal import Sealer

from ..domain import webhook_urls as urls
from .context import Intake


class WebhookNotFound(Exception):
    """No such webhook for this partner (or it was removed)."""


class WebhookExists(Exception):
    """The partner already has a live webhook at this URL."""


async def _resolve(host: str) -> list[str]:
    """The host's addresses (an empty list when it does not resolve now: delivery checks again)."""
    try:
        infos = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM), timeout=3
        )
    except (OSError, TimeoutError, UnicodeError):
        return []
    return [str(info[4][0]) for info in infos]


async def check_url(ctx: Intake, url: str) -> None:
    """WebhookUrlRefused unless a partner may register this URL (domain.webhook_urls)."""
    dev = ctx.settings.env in ("dev", "test")
    target = urls.parse(url, dev=dev)
    if dev and urls.allowed_in_dev(target, ctx.settings.webhook_allow_hosts):
        return
    urls.check_addresses(target, [] if target.literal is not None else await _resolve(target.host))


def _out(row: Any) -> dict[str, Any]:
    return {
        "webhook_id": str(row.id),
        "url": row.url,
        "events": list(row.events),
        "created_at": row.created_at.isoformat(),
    }


async def register(ctx: Intake, client_id: str, url: str, events: list[str]) -> dict[str, Any]:
    """A new subscription with its signing secret (shown once; stored encrypted; sealed for outbound, which signs
    its deliveries)."""
    await check_url(ctx, url)
    webhook_id, secret, kinds = uuid.uuid4(), "whsec_" + secrets.token_urlsafe(32), sorted(set(events))
    async with ctx.uow() as uow:
        added = await uow.webhooks.add(
            {"id": webhook_id, "client_id": client_id, "url": url, "events": kinds, "secret": secret}
        )
        if added:
            await uow.emit(
                m.WebhookRegistered(
                    producer="intake",
                    webhook_id=webhook_id,
                    client_id=client_id,
                    url=url,
                    events=tuple(kinds),
                    sealed_secret=Sealer(ctx.settings.webhook_seal_keys).seal(secret),
                    registered_at=ctx.clock(),
                )
            )
        await uow.commit()
    if not added:
        raise WebhookExists()
    return {"webhook_id": str(webhook_id), "secret": secret, "url": url, "events": kinds}


async def listing(ctx: Intake, client_id: str) -> dict[str, Any]:
    async with ctx.uow() as uow:
        rows = await uow.webhooks.live(client_id)
    return {"items": [_out(r) for r in rows]}


async def one(ctx: Intake, client_id: str, webhook_id: uuid.UUID) -> dict[str, Any]:
    async with ctx.uow() as uow:
        row = await uow.webhooks.get(client_id, webhook_id)
    if row is None:
        raise WebhookNotFound()
    return _out(row)


async def remove(ctx: Intake, client_id: str, webhook_id: uuid.UUID) -> None:
    async with ctx.uow() as uow:
        removed = await uow.webhooks.remove(client_id, webhook_id, ctx.clock())
        if removed:
            await uow.emit(m.WebhookRemoved(producer="intake", webhook_id=webhook_id, client_id=client_id))
        await uow.commit()
    if not removed:
        raise WebhookNotFound()
