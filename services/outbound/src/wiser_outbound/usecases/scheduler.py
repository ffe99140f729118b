"""The retry loop: due webhook deliveries and letter copies, looked for every `poll_seconds` (the DB is the
schedule: a delay tier is a `next_attempt_at`, so no message waits behind another's TTL)."""

from __future__ import annotations

import asyncio
import logging

from . import delivery, webhooks
from .context import Outbound

log = logging.getLogger("wiser.outbound.scheduler")


class Scheduler:
    def __init__(self, ctx: Outbound, poll_seconds: float) -> None:
        self.ctx, self.poll_seconds = ctx, poll_seconds
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbound-scheduler")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def once(self) -> int:
        return await webhooks.deliver_due(self.ctx) + await delivery.send_due(self.ctx)

    async def _run(self) -> None:
        while True:
            try:
                busy = await self.once()
            except Exception:  # the database is away for a moment: try again next round
                log.exception("scheduler pass failed")
                busy = 0
            if busy < self.ctx.batch:
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
                except TimeoutError:
                    pass
                self._wake.clear()
