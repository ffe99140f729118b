"""The background loop that asks the MAC for pending UTNs: woken at once by a determination, else every
`poll_seconds` (retries wait their backoff in the table, so any replica may pick them up)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("wiser.clinical.utn")


class UtnWorker:
    def __init__(self, step: Callable[[], Awaitable[int]], poll_seconds: float) -> None:
        self.step, self.poll_seconds = step, poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="clinical-utn-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:  # a database hiccup: log, keep going
                log.exception("UTN step failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
