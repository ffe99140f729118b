"""Read-only look-ups of a packet from intake's ops API (its owner), with outbound's own service identity."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from wiser_servicekit.identity import issue_service_token


class IntakeClient:
    def __init__(self, base_url: str, signing_key: Ed25519PrivateKey, issuer: str, http: httpx.AsyncClient) -> None:
        self.base_url, self.signing_key, self.issuer, self.http = base_url.rstrip("/"), signing_key, issuer, http

    async def packet(self, packet_id: uuid.UUID) -> dict[str, Any]:
        """The ops detail (with history, contacts and the partner client): read when an event is handled."""
        token = issue_service_token(self.signing_key, self.issuer, ttl=60)
        r = await self.http.get(
            f"{self.base_url}/api/v1/ops/packets/{packet_id}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        r.raise_for_status()
        return r.json()  # type: ignore[no-any-return]
