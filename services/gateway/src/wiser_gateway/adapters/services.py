"""Calls to the services behind the gateway, each with a short-lived identity token of the signed-in user.

The gateway's key signs these tokens (issuer wiser-gateway); no service holds it. A call that makes a service
issue a command on the user's behalf also carries a command token bound to that packet and action.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
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

    async def stream(self, service: str, path: str, user: User) -> Upstream | Streamed:
        """GET whose 2xx body streams through (Streamed); anything else read whole (a small problem+json)."""
        request = self.http.build_request("GET", self.urls[service] + path, headers=self._headers(user))
        try:
            r = await self.http.send(request, stream=True)
        except httpx.HTTPError:
            return await self.call(service, "GET", path, user)  # the same 503 as any call
        if 200 <= r.status_code < 300:
            return Streamed(r.status_code, r.headers, r)
        try:
            return Upstream(r.status_code, await r.aread(), r.headers)
        finally:
            await r.aclose()


@dataclass
class Streamed:
    """An upstream 2xx whose body is passed on as it arrives (a document): never whole in the gateway's memory."""

    status: int
    headers: httpx.Headers
    response: httpx.Response

    ok = True

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.response.aiter_raw():
                yield chunk
        finally:
            await self.response.aclose()


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

    async def document(self, user: User, packet_id: uuid.UUID, document_id: uuid.UUID) -> Upstream | Streamed:
        return await self.services.stream("intake", f"/api/v1/ops/packets/{packet_id}/documents/{document_id}", user)

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
    """Validation's API: every check of every run of a packet, and its reference data (the dismissal reasons
    in force, kept `reference_ttl` seconds: the same list for everyone)."""

    def __init__(self, services: Services, reference_ttl: float = 60.0) -> None:
        self.services, self.reference_ttl = services, reference_ttl
        self._reasons: list[dict[str, str]] = []
        self._reasons_at = 0.0

    async def dismissal_reasons(self, user: User) -> list[dict[str, str]]:
        """`[{code, reason, corrective_action}]` in force today; [] while validation cannot say."""
        if self._reasons and time.monotonic() - self._reasons_at < self.reference_ttl:
            return self._reasons
        up = await self.services.call("validation", "GET", "/api/v1/reference/dismissal-reasons", user)
        if not up.ok:
            return []
        self._reasons = [
            {"code": r["code"], "reason": r["reason"], "corrective_action": r["corrective_action"]}
            for r in up.json()["reasons"]
        ]
        self._reasons_at = time.monotonic()
        return self._reasons

    async def findings(self, user: User, packet_id: uuid.UUID) -> Upstream:
        return await self.services.call("validation", "GET", f"/api/v1/validation/packets/{packet_id}", user)


class AnalyticsClient:
    """Analytics' API: the metrics (JSON), any table as CSV, the PDF report."""

    TABLES = (
        "status",
        "packets",
        "aging",
        "sla",
        "cms",
        "throughput",
        "trend",
        "turnaround",
        "reviewers",
        "outcomes",
        "dismissals",
        "channels",
        "gold-card",
    )

    def __init__(self, services: Services) -> None:
        self.services = services

    async def table(self, user: User, name: str, params: Any = None) -> Upstream:
        assert name in self.TABLES
        return await self.services.call("analytics", "GET", f"/api/v1/analytics/{name}", user, params=params)

    async def csv(self, user: User, name: str, params: Any = None) -> Upstream:
        assert name in self.TABLES
        return await self.services.call("analytics", "GET", f"/api/v1/analytics/export/{name}.csv", user, params=params)

    async def report(self, user: User, params: Any = None) -> Upstream:
        return await self.services.call("analytics", "GET", "/api/v1/analytics/report.pdf", user, params=params)


class ClinicalClient:
    """Clinical's API: the queue, cases (packet and documents read by clinical from intake), the review's
    actions and reviewer profiles, as the signed-in user (clinical enforces its own role rules)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def queue(self, user: User, params: Any = None) -> Upstream:
        return await self.services.call("clinical", "GET", "/api/v1/queue", user, params=params)

    async def case(self, user: User, packet_id: uuid.UUID) -> Upstream:
        return await self.services.call("clinical", "GET", f"/api/v1/cases/{packet_id}", user)

    async def document(self, user: User, packet_id: uuid.UUID, document_id: uuid.UUID) -> Upstream:
        return await self.services.call("clinical", "GET", f"/api/v1/cases/{packet_id}/documents/{document_id}", user)

    async def take_next(self, user: User) -> Upstream:
        return await self.services.call("clinical", "POST", "/api/v1/cases/next", user)

    async def act(
        self, user: User, packet_id: uuid.UUID, action: str, body: Any = None, method: str = "POST"
    ) -> Upstream:
        """One of the case's actions: take, release, assign, checklist (PUT), urgency, notes, affirm, escalate,
        decision, return."""
        return await self.services.call("clinical", method, f"/api/v1/cases/{packet_id}/{action}", user, json=body)

    async def reviewers(self, user: User) -> Upstream:
        return await self.services.call("clinical", "GET", "/api/v1/reviewers", user)

    async def put_reviewer(self, user: User, user_id: str, body: Any) -> Upstream:
        return await self.services.call("clinical", "PUT", f"/api/v1/reviewers/{user_id}", user, json=body)


class LettersClient:
    """Letters' API (HTTP_CONTRACTS.md): letter sets awaiting approval, their PDFs and checks, people's actions."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def awaiting(self, user: User, statuses: tuple[str, ...] = ("drafted", "blocked")) -> Upstream:
        params = [("status", s) for s in statuses] + [("limit", "200")]
        return await self.services.call("letters", "GET", "/api/v1/letter-sets", user, params=params)

    async def letter_set(self, user: User, set_id: uuid.UUID) -> Upstream:
        return await self.services.call("letters", "GET", f"/api/v1/letter-sets/{set_id}", user)

    async def by_packet(self, user: User, packet_id: uuid.UUID) -> Upstream:
        return await self.services.call("letters", "GET", f"/api/v1/letter-sets/by-packet/{packet_id}", user)

    async def history(self, user: User, set_id: uuid.UUID) -> Upstream:
        return await self.services.call("letters", "GET", f"/api/v1/letter-sets/{set_id}/history", user)

    async def pdf(self, user: User, letter_id: uuid.UUID, version: int | None = None) -> Upstream:
        params = {"version": str(version)} if version else None
        return await self.services.call("letters", "GET", f"/api/v1/letters/{letter_id}/pdf", user, params=params)

    async def approve(self, user: User, set_id: uuid.UUID, version: int) -> Upstream:
        return await self.services.call(
            "letters", "POST", f"/api/v1/letter-sets/{set_id}/approve", user, json={"version": version}
        )

    async def reject(self, user: User, set_id: uuid.UUID, version: int, reason: str) -> Upstream:
        return await self.services.call(
            "letters", "POST", f"/api/v1/letter-sets/{set_id}/reject", user, json={"version": version, "reason": reason}
        )

    async def edit(
        self, user: User, set_id: uuid.UUID, version: int, paragraphs: dict[str, dict[str, str]]
    ) -> Upstream:
        return await self.services.call(
            "letters",
            "POST",
            f"/api/v1/letter-sets/{set_id}/edit",
            user,
            json={"version": version, "paragraphs": paragraphs},
        )

    async def redraft(self, user: User, set_id: uuid.UUID) -> Upstream:
        return await self.services.call("letters", "POST", f"/api/v1/letter-sets/{set_id}/redraft", user, json={})


class OutboundClient:
    """Outbound's ops API: deliveries with every attempt and the peer's answer, webhooks, "retry now" (T18)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def deliveries(self, user: User, status: str | None, channel: str | None) -> Upstream:
        params = {k: v for k, v in (("status", status), ("channel", channel)) if v}
        return await self.services.call("outbound", "GET", "/api/v1/outbound/deliveries", user, params=params)

    async def webhook_deliveries(self, user: User, status: str | None) -> Upstream:
        params = {"status": status} if status else None
        return await self.services.call("outbound", "GET", "/api/v1/outbound/webhook-deliveries", user, params=params)

    async def retry(self, user: User, packet_id: uuid.UUID, body: dict[str, Any], action: str) -> Upstream:
        """T18 on the user's behalf: outbound sends intake the command with the user's bound token."""
        return await self.services.call(
            "outbound",
            "POST",
            f"/api/v1/outbound/packets/{packet_id}/retry",
            user,
            json=body,
            command=(packet_id, action),
        )


class ParkedClient:
    """Every service's parked messages (servicekit.parked): `GET/POST /api/v1/<service>/parked[/replay]`."""

    SERVICES = ("intake", "validation", "clinical", "letters", "outbound", "analytics")
    PREFIX = {"intake": "/api/v1/ops"}  # intake's are on its ops API

    def __init__(self, services: Services) -> None:
        self.services = services

    def known(self) -> tuple[str, ...]:
        return tuple(s for s in self.SERVICES if s in self.services.urls)

    def _path(self, service: str) -> str:
        return self.PREFIX.get(service, f"/api/v1/{service}") + "/parked"

    async def listing(self, user: User, service: str) -> Upstream:
        return await self.services.call(service, "GET", self._path(service), user)

    async def replay(self, user: User, service: str, queue: str) -> Upstream:
        return await self.services.call(service, "POST", self._path(service) + "/replay", user, json={"queue": queue})
