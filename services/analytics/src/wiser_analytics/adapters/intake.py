"""Intake's history export (its ops API), read with analytics' own service identity."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from wiser_servicekit.identity import issue_service_token


class HistoryClient:
    def __init__(
        self, base_url: str, path: str, signing_key: Ed25519PrivateKey, issuer: str, http: httpx.AsyncClient
    ) -> None:
        self.url = base_url.rstrip("/") + path
        self.signing_key, self.issuer, self.http = signing_key, issuer, http

    async def pages(self, page_size: int) -> AsyncIterator[list[dict[str, Any]]]:
        after: str | None = None
        while True:
            token = issue_service_token(self.signing_key, self.issuer, ttl=60)
            params: dict[str, Any] = {"limit": page_size}
            if after:
                params["after"] = after
            r = await self.http.get(self.url, params=params, headers={"Authorization": f"Bearer {token}"})
            r.raise_for_status()
            body = r.json()
            yield body["items"]
            after = body.get("next_cursor")
            if not after:
                return
