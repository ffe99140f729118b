"""The letters service's API (HTTP_CONTRACTS.md): a packet's letter set, and a letter's PDF."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from wiser_servicekit.identity import issue_service_token


class LetterSetMissing(Exception):
    """Letters has no set for this packet (yet)."""


class LettersClient:
    def __init__(self, base_url: str, signing_key: Ed25519PrivateKey, issuer: str, http: httpx.AsyncClient) -> None:
        self.base_url, self.signing_key, self.issuer, self.http = base_url.rstrip("/"), signing_key, issuer, http

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_service_token(self.signing_key, self.issuer, ttl=60)}"}

    async def letter_set(self, packet_id: uuid.UUID, kind: str = "decision") -> dict[str, Any]:
        r = await self.http.get(
            f"{self.base_url}/api/v1/letter-sets/by-packet/{packet_id}",
            params={"kind": kind} if kind != "decision" else None,
            headers=self._headers(),
            timeout=10,
        )
        if r.status_code == 404:
            raise LetterSetMissing(str(packet_id))
        r.raise_for_status()
        return r.json()  # type: ignore[no-any-return]

    async def pdf(self, letter_id: str) -> bytes:
        r = await self.http.get(f"{self.base_url}/api/v1/letters/{letter_id}/pdf", headers=self._headers(), timeout=30)
        r.raise_for_status()
        if not r.content.startswith(b"%PDF"):
            raise ValueError("letters answered something that is not a PDF")
        return r.content
