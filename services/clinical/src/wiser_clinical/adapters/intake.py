"""Read-only look-ups of a packet and its documents from intake's ops API (its owner), with clinical's own
short-lived service identity; intake audits each read."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from wiser_servicekit.identity import issue_service_token

from ..usecases import errors


class IntakeClient:
    def __init__(self, base_url: str, signing_key: Ed25519PrivateKey, issuer: str, http: httpx.AsyncClient) -> None:
        self.base_url, self.signing_key, self.issuer, self.http = base_url.rstrip("/"), signing_key, issuer, http

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_service_token(self.signing_key, self.issuer, ttl=60)}"}

    async def packet(self, packet_id: uuid.UUID, *, view: str = "full") -> dict[str, Any]:
        r = await self.http.get(
            f"{self.base_url}/api/v1/ops/packets/{packet_id}",
            params={"view": view},
            headers=self._headers(),
            timeout=10,
        )
        if r.status_code == 404:
            raise errors.NotFound("PACKET_NOT_FOUND", "Intake has no such packet.")
        r.raise_for_status()
        return r.json()  # type: ignore[no-any-return]

    async def document(self, packet_id: uuid.UUID, document_id: uuid.UUID) -> tuple[str, str, bytes]:
        r = await self.http.get(
            f"{self.base_url}/api/v1/ops/packets/{packet_id}/documents/{document_id}",
            headers=self._headers(),
            timeout=30,
        )
        if r.status_code == 404:
            raise errors.NotFound("DOCUMENT_NOT_FOUND", "Intake has no such document for this packet.")
        r.raise_for_status()
        disposition = r.headers.get("content-disposition", "")
        filename = disposition.split('filename="', 1)[1].rstrip('"') if 'filename="' in disposition else "document"
        return r.headers.get("content-type", "application/octet-stream"), filename, r.content
