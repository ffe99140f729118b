"""The MAC's UTN service (`POST {mac_url}` `{packet_id, state, outcome}` -> `{"utn"}`; the sandbox speaks it)."""

from __future__ import annotations

import uuid

import httpx

from ..usecases.ports import MacRefused, MacUnavailable


class MacClient:
    def __init__(self, url: str, http: httpx.AsyncClient, timeout: float) -> None:
        self.url, self.http, self.timeout = url, http, timeout

    async def utn(self, packet_id: uuid.UUID, state: str, outcome: str) -> str:
        try:
            r = await self.http.post(
                self.url, json={"packet_id": str(packet_id), "state": state, "outcome": outcome}, timeout=self.timeout
            )
        except httpx.HTTPError as e:
            raise MacUnavailable(type(e).__name__) from e
        if r.status_code >= 500 or r.status_code in (408, 429):
            raise MacUnavailable(f"HTTP {r.status_code}")
        if r.status_code >= 400:
            raise MacRefused(f"HTTP {r.status_code}")
        try:
            return str(r.json()["utn"])
        except (ValueError, KeyError, TypeError) as e:
            raise MacUnavailable("unreadable answer") from e
