"""A partner's webhook subscriptions (PARTNER_API.md): register, list, read, remove."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from sqlalchemy import select, update

from ..adapters.tables import webhooks
from .common import now
from .context import Intake


class WebhookNotFound(Exception):
    """No such webhook for this partner (or it was removed)."""


class InsecureWebhookUrl(Exception):
    """Outside dev and test a webhook must be https."""


def _out(row: Any) -> dict[str, Any]:
    return {
        "webhook_id": str(row.id),
        "url": row.url,
        "events": list(row.events),
        "created_at": row.created_at.isoformat(),
    }


async def register(ctx: Intake, client_id: str, url: str, events: list[str]) -> dict[str, Any]:
    """A new subscription with its signing secret (shown once)."""
    if url.startswith("http://") and ctx.settings.env not in ("dev", "test"):
        raise InsecureWebhookUrl()
    webhook_id, secret, kinds = uuid.uuid4(), "whsec_" + secrets.token_urlsafe(32), sorted(set(events))
    async with ctx.sessions() as session, session.begin():
        await session.execute(
            webhooks.insert().values(id=webhook_id, client_id=client_id, url=url, events=kinds, secret=secret)
        )
    return {"webhook_id": str(webhook_id), "secret": secret, "url": url, "events": kinds}


async def listing(ctx: Intake, client_id: str) -> dict[str, Any]:
    async with ctx.sessions() as session:
        rows = (
            await session.execute(
                select(webhooks)
                .where(webhooks.c.client_id == client_id, webhooks.c.deleted_at.is_(None))
                .order_by(webhooks.c.created_at)
            )
        ).all()
    return {"items": [_out(r) for r in rows]}


async def one(ctx: Intake, client_id: str, webhook_id: uuid.UUID) -> dict[str, Any]:
    async with ctx.sessions() as session:
        row = (
            await session.execute(
                select(webhooks).where(
                    webhooks.c.id == webhook_id, webhooks.c.client_id == client_id, webhooks.c.deleted_at.is_(None)
                )
            )
        ).first()
    if row is None:
        raise WebhookNotFound()
    return _out(row)


async def remove(ctx: Intake, client_id: str, webhook_id: uuid.UUID) -> None:
    async with ctx.sessions() as session, session.begin():
        result = await session.execute(
            update(webhooks)
            .where(webhooks.c.id == webhook_id, webhooks.c.client_id == client_id, webhooks.c.deleted_at.is_(None))
            .values(deleted_at=now())
        )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise WebhookNotFound()
