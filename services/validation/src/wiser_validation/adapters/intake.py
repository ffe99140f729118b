"""Read-only look-ups of a packet from intake (its owner), with a short-lived service identity."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from wiser_servicekit.identity import issue_identity_token


class IntakeClient:
    def __init__(self, base_url: str, identity_key: str, issuer: str, http: httpx.AsyncClient) -> None:
        self.base_url, self.identity_key, self.issuer, self.http = base_url.rstrip("/"), identity_key, issuer, http

    async def packet(self, packet_id: uuid.UUID) -> dict[str, Any]:
        token = issue_identity_token(self.identity_key, "svc:validation", ["service"], ttl=60, issuer=self.issuer)
        r = await self.http.get(
            f"{self.base_url}/api/v1/ops/packets/{packet_id}", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        r.raise_for_status()
        return r.json()  # type: ignore[no-any-return]
