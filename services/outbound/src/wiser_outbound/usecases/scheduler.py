"""The retry loop: due webhook deliveries and letter copies, looked for every `poll_seconds` (the DB is the
schedule: a delay tier is a `next_attempt_at`, so no message waits behind another's TTL)."""

from __future__ import annotations

import asyncio
import logging
import time

from . import delivery, webhooks
from .context import Outbound

log = logging.getLogger("wiser.outbound.scheduler")

FORGET_EVERY_SECONDS = 60.0  # how often handled events past the catch-up window are dropped


class Scheduler:
    def __init__(self, ctx: Outbound, poll_seconds: float) -> None:
        self.ctx, self.poll_seconds = ctx, poll_seconds
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._forgot_at = -FORGET_EVERY_SECONDS

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
        now = time.monotonic()
        if now - self._forgot_at >= FORGET_EVERY_SECONDS:
            self._forgot_at = now
            await webhooks.forget_old(self.ctx)
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
