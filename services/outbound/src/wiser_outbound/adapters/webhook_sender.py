"""POSTs a signed webhook to a partner's URL, after checking where the URL points now."""

from __future__ import annotations

import time

import httpx

from wiser_servicekit.netguard import UrlRefused, check_url

from ..domain.webhooks import SIGNATURE_HEADER, signature
from ..usecases.ports import Sent


class HttpWebhookSender:
    def __init__(self, http: httpx.AsyncClient, allow: tuple[str, ...], timeout: float) -> None:
        self.http, self.allow, self.timeout = http, allow, timeout

    async def aclose(self) -> None:
        await self.http.aclose()

    async def send(self, url: str, secret: str, event_id: str, kind: str, body: str) -> Sent:
        started = time.monotonic()
        try:
            await check_url(url, self.allow)  # resolved afresh on every delivery
        except UrlRefused as e:
            return Sent(None, None, f"refused: {e.code}", 0)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(secret, int(time.time()), body),
            "Wiser-Event-Id": event_id,
            "Wiser-Event-Type": kind,
            "User-Agent": "wiser-outbound/1",
        }
        try:
            r = await self.http.post(url, content=body.encode(), headers=headers, timeout=self.timeout)
        except httpx.HTTPError as e:
            return Sent(None, None, f"{type(e).__name__}: {e}"[:500], int((time.monotonic() - started) * 1000))
        return Sent(r.status_code, r.text[:500], None, int((time.monotonic() - started) * 1000))
