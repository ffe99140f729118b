"""Reading a webhook's signing secret (read side: straight from intake's table, decrypted by its column type)."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from ..adapters.tables import webhooks
from .context import Intake


async def signing_secret(ctx: Intake, webhook_id: uuid.UUID) -> str | None:
    """The webhook's secret in the clear, for whoever signs its deliveries."""
    async with ctx.sessions() as session:
        return await session.scalar(select(webhooks.c.secret).where(webhooks.c.id == webhook_id))  # type: ignore[no-any-return]
