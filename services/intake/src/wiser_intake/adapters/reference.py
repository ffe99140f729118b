"""The dismissal reasons in force, read from validation's reference API (their one source) in intake's own
name, and kept for a short while."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from wiser_servicekit.identity import issue_service_token

from ..domain.dismissal import DismissalReason
from ..usecases.errors import Unavailable

log = logging.getLogger("wiser.intake.reference")
PATH = "/api/v1/reference/dismissal-reasons"


class ValidationReference:
    def __init__(
        self,
        base_url: str,
        signing_key: Ed25519PrivateKey,
        issuer: str,
        http: httpx.AsyncClient,
        ttl: float = 60.0,
        timeout: float = 5.0,
    ) -> None:
        self.base_url, self.signing_key, self.issuer, self.http = base_url.rstrip("/"), signing_key, issuer, http
        self.ttl, self.timeout = ttl, timeout
        self._reasons: dict[str, DismissalReason] | None = None
        self._at = 0.0

    async def in_force(self) -> Mapping[str, DismissalReason]:
        if self._reasons is not None and time.monotonic() - self._at < self.ttl:
            return self._reasons
        token = issue_service_token(self.signing_key, self.issuer, ttl=60)
        try:
            r = await self.http.get(
                self.base_url + PATH, headers={"Authorization": f"Bearer {token}"}, timeout=self.timeout
            )
            r.raise_for_status()
            reasons = {
                x["code"]: DismissalReason(x["code"], x["reason"], x.get("corrective_action", ""))
                for x in r.json()["reasons"]
            }
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as e:
            log.warning("dismissal reasons unavailable", extra={"error": type(e).__name__})
            raise Unavailable(
                "REFERENCE_UNAVAILABLE",
                "The dismissal reasons (validation's reference data) cannot be read just now; try again shortly.",
            ) from e
        self._reasons, self._at = reasons, time.monotonic()
        return reasons
