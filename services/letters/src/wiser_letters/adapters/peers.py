"""Letters' peers, each called with letters' own service token: intake's ops API (the packet), clinical (the
determination, HTTP_CONTRACTS.md) and validation's reference API (dismissal reasons, service names)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from wiser_servicekit.identity import issue_service_token


class _Peer:
    def __init__(self, base_url: str, signing_key: Ed25519PrivateKey, issuer: str, http: httpx.AsyncClient) -> None:
        self.base_url, self.signing_key, self.issuer, self.http = base_url.rstrip("/"), signing_key, issuer, http

    async def _get(self, path: str, **params: str) -> httpx.Response:
        token = issue_service_token(self.signing_key, self.issuer, ttl=60)
        return await self.http.get(
            f"{self.base_url}{path}", params=params or None, headers={"Authorization": f"Bearer {token}"}
        )


class IntakeClient(_Peer):
    async def packet(self, packet_id: uuid.UUID) -> dict[str, Any]:
        r = await self._get(f"/api/v1/ops/packets/{packet_id}", view="facts")
        r.raise_for_status()
        return r.json()  # type: ignore[no-any-return]


class ClinicalClient(_Peer):
    async def determination(self, packet_id: uuid.UUID) -> dict[str, Any] | None:
        r = await self._get(f"/api/v1/determinations/{packet_id}")
        if r.status_code == 404:
            return None
        r.raise_for_status()
        return r.json()  # type: ignore[no-any-return]


class ReferenceClient(_Peer):
    """Validation's reference lists in force today, kept for a few minutes (they change a few times a year)."""

    def __init__(self, *args: Any, ttl: float = 300.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ttl = ttl
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}

    async def _list(self, name: str) -> dict[str, Any]:
        hit = self._cache.get(name)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        r = await self._get(f"/api/v1/reference/{name}")
        r.raise_for_status()
        body: dict[str, Any] = r.json()
        self._cache[name] = (time.monotonic() + self.ttl, body)
        return body

    async def dismissal_reasons(self) -> dict[str, dict[str, str]]:
        body = await self._list("dismissal-reasons")  # validation's one source of reasons and corrective actions
        return {
            r["code"]: {
                "reason": r.get("reason", ""),
                "corrective_action": r.get("corrective_action") or r.get("action", ""),
            }
            for r in body.get("reasons", [])
        }

    async def descriptions(self) -> dict[str, str]:
        body = await self._list("services")
        out: dict[str, str] = {}
        for service in body.get("services", []):
            for code in service.get("codes", []):
                out[code["code"]] = code.get("description") or service.get("name", "")
        return out
