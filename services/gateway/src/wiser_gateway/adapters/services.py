"""Calls to the services behind the gateway, each with a short-lived identity token of the signed-in user.

The gateway's key signs these tokens (issuer wiser-gateway); no service holds it. A call that makes a service
issue a command on the user's behalf also carries a command token bound to that packet and action.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from wiser_servicekit.identity import GATEWAY, ON_BEHALF_HEADER, issue_command_token, issue_identity_token

from ..usecases.accounts import User


@dataclass
class Upstream:
    status: int
    body: bytes
    headers: httpx.Headers

    def json(self) -> Any:
        import json

        return json.loads(self.body) if self.body else None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Services:
    def __init__(self, http: httpx.AsyncClient, urls: dict[str, str], signing_key: Ed25519PrivateKey, ttl: int) -> None:
        self.http, self.urls, self.signing_key, self.ttl = http, urls, signing_key, ttl

    def _headers(
        self, user: User, extra: dict[str, str] | None = None, command: tuple[uuid.UUID, str] | None = None
    ) -> dict[str, str]:
        token = issue_identity_token(self.signing_key, str(user.id), user.roles, ttl=self.ttl, issuer=GATEWAY)
        headers = {"Authorization": f"Bearer {token}", **(extra or {})}
        if command is not None:
            packet_id, action = command
            headers[ON_BEHALF_HEADER] = issue_command_token(
                self.signing_key, str(user.id), user.roles, packet_id, action, ttl=self.ttl
            )
        return headers

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        user: User,
        *,
        params: Any = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        command: tuple[uuid.UUID, str] | None = None,
    ) -> Upstream:
        """Forward a request as `user`; `command` = (packet id, action) when it makes a command on their behalf."""
        try:
            r = await self.http.request(
                method,
                self.urls[service] + path,
                params=params,
                json=json,
                headers=self._headers(user, headers, command),
            )
        except httpx.HTTPError:
            body = (
                b'{"type": "https://wiser.example/problems/upstream-unavailable", "title": "Service unavailable",'
                b' "status": 503, "code": "UPSTREAM_UNAVAILABLE"}'
            )
            return Upstream(503, body, httpx.Headers({"content-type": "application/problem+json"}))
        return Upstream(r.status_code, r.content, r.headers)


class IntakeClient:
    """Intake's ops API (port 8101 in ARCHITECTURE.md; the intake URL setting), as the signed-in user."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def packets(self, user: User, params: Any) -> Upstream:
        return await self.services.call("intake", "GET", "/api/v1/ops/packets", user, params=params)

    async def counts(self, user: User) -> Upstream:
        return await self.services.call("intake", "GET", "/api/v1/ops/packets/counts", user)

    async def packet(self, user: User, packet_id: uuid.UUID) -> Upstream:
        return await self.services.call("intake", "GET", f"/api/v1/ops/packets/{packet_id}", user)

    async def document(self, user: User, packet_id: uuid.UUID, document_id: uuid.UUID) -> Upstream:
        return await self.services.call(
            "intake", "GET", f"/api/v1/ops/packets/{packet_id}/documents/{document_id}", user
        )

    async def correct(self, user: User, packet_id: uuid.UUID, corrections: list[Any], version: object) -> Upstream:
        """T5: corrections made on the packet's `version` (If-Match)."""
        return await self.services.call(
            "intake",
            "PATCH",
            f"/api/v1/ops/packets/{packet_id}",
            user,
            json={"corrections": corrections},
            headers={"If-Match": f'"{version}"'},
        )


class ValidationClient:
    """Validation's API: every check of every run of a packet."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def findings(self, user: User, packet_id: uuid.UUID) -> Upstream:
        return await self.services.call("validation", "GET", f"/api/v1/validation/packets/{packet_id}", user)
