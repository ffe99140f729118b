"""The providers' APIs, as they are spoken (the sandbox speaks them in dev and tests).

- fax: a REST fax provider: `POST /faxes` (multipart: the PDF, `to`, `client_reference`, `callback_url`),
  `GET /faxes?client_reference=` for our reference's status; status callbacks signed
  `X-Fax-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
- mail: a print-and-mail letters API: `POST /letters` (JSON: address, PDF base64) with `Idempotency-Key`
  (the provider answers a repeat with the letter it already has), `GET /letters?reference=`; delivery
  events by webhook signed `Mail-Signature: sha256=<hex HMAC-SHA256(secret, body)>`.
- esMD: the review contractor's PA response: decision code A/N/P, the letter as content type 20;
  acknowledged synchronously; `GET /pa-responses/{unique_id}` for our reference.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

import httpx

from ..usecases.ports import Outcome, Send


def _excerpt(r: httpx.Response) -> str:
    return r.text[:1000]


class FaxClient:
    def __init__(self, base_url: str, api_key: str, callback_url: str, http: httpx.AsyncClient, timeout: float) -> None:
        self.base_url, self.api_key, self.callback_url = base_url.rstrip("/"), api_key, callback_url
        self.http, self.timeout = http, timeout

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    async def send(self, request: Send) -> Outcome:
        r = await self.http.post(
            f"{self.base_url}/faxes",
            headers=self._headers(),
            data={
                "to": request.destination["fax"],
                "client_reference": request.reference,
                "callback_url": self.callback_url,
            },
            files={"file": (f"{request.reference}.pdf", request.pdf, "application/pdf")},
            timeout=self.timeout,
        )
        if r.status_code in (200, 201, 202):
            return Outcome(True, provider_id=r.json().get("id"), status_code=r.status_code, response=_excerpt(r))
        return Outcome(False, status_code=r.status_code, response=_excerpt(r), error=f"fax provider {r.status_code}")

    async def lookup(self, reference: str) -> Outcome | None:
        r = await self.http.get(
            f"{self.base_url}/faxes",
            params={"client_reference": reference},
            headers=self._headers(),
            timeout=self.timeout,
        )
        r.raise_for_status()
        items = r.json().get("items") or []
        if not items:
            return None
        fax = items[0]
        if fax.get("status") == "failed":
            return Outcome(
                False, provider_id=fax.get("id"), status_code=r.status_code, response=_excerpt(r), error="fax failed"
            )
        return Outcome(
            True,
            provider_id=fax.get("id"),
            confirmed=fax.get("status") == "delivered",
            status_code=200,
            response=_excerpt(r),
        )


class MailClient:
    def __init__(self, base_url: str, api_key: str, callback_url: str, http: httpx.AsyncClient, timeout: float) -> None:
        self.base_url, self.api_key, self.callback_url = base_url.rstrip("/"), api_key, callback_url
        self.http, self.timeout = http, timeout

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    async def send(self, request: Send) -> Outcome:
        d = request.destination
        body = {
            "to": {
                "name": d.get("name"),
                "address_line1": d.get("line1"),
                "address_line2": d.get("line2"),
                "address_city": d.get("city"),
                "address_state": d.get("state"),
                "address_zip": d.get("zip"),
            },
            "file": base64.b64encode(request.pdf).decode(),
            "reference": request.reference,
            "mail_type": "usps_first_class",
            "webhook_url": self.callback_url,
        }
        r = await self.http.post(
            f"{self.base_url}/letters",
            json=body,
            headers={**self._headers(), "Idempotency-Key": request.reference},
            timeout=self.timeout,
        )
        if r.status_code in (200, 201, 202):
            return Outcome(True, provider_id=r.json().get("id"), status_code=r.status_code, response=_excerpt(r))
        return Outcome(False, status_code=r.status_code, response=_excerpt(r), error=f"mail provider {r.status_code}")

    async def lookup(self, reference: str) -> Outcome | None:
        r = await self.http.get(
            f"{self.base_url}/letters", params={"reference": reference}, headers=self._headers(), timeout=self.timeout
        )
        r.raise_for_status()
        items = r.json().get("items") or []
        if not items:
            return None
        letter = items[0]
        return Outcome(
            True,
            provider_id=letter.get("id"),
            confirmed=letter.get("status") == "accepted_for_mailing",
            status_code=200,
            response=_excerpt(r),
        )


class EsmdClient:
    def __init__(self, base_url: str, http: httpx.AsyncClient, timeout: float) -> None:
        self.base_url, self.http, self.timeout = base_url.rstrip("/"), http, timeout

    async def send(self, request: Send) -> Outcome:
        facts = request.packet
        body = {
            "unique_id": request.reference,
            "esmd_transaction_id": request.destination.get("esmd_transaction"),
            "decision": facts.get("decision"),
            "utn": facts.get("utn"),
            "documents": [
                {"content_type": "20", "mime_type": "application/pdf", "data": base64.b64encode(request.pdf).decode()}
            ],
        }
        r = await self.http.post(f"{self.base_url}/pa-responses", json=body, timeout=self.timeout)
        if r.status_code in (200, 201, 202):
            ack = r.json()
            ok = ack.get("status") == "acknowledged"
            return Outcome(
                ok, provider_id=ack.get("ack_id"), confirmed=ok, status_code=r.status_code, response=_excerpt(r)
            )
        return Outcome(False, status_code=r.status_code, response=_excerpt(r), error=f"esMD {r.status_code}")

    async def lookup(self, reference: str) -> Outcome | None:
        r = await self.http.get(f"{self.base_url}/pa-responses/{reference}", timeout=self.timeout)
        if r.status_code == 404:
            return None
        r.raise_for_status()
        ack = r.json()
        ok = ack.get("status") == "acknowledged"
        return Outcome(ok, provider_id=ack.get("ack_id"), confirmed=ok, status_code=200, response=_excerpt(r))


# ------------------------------------------------------------------------------------- callback checks


def fax_signature_ok(secret: str, header: str, body: bytes, now: float | None = None, tolerance: int = 300) -> bool:
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - t) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


def mail_signature_ok(secret: str, header: str, body: bytes) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header or "")


def callback_fields(provider: str, doc: dict[str, Any]) -> tuple[str, str, bool]:
    """(event id, our reference, delivered?) of a provider's status callback."""
    if provider == "fax":
        return str(doc["event_id"]), str(doc["client_reference"]), doc.get("status") == "delivered"
    return str(doc["id"]), str(doc["reference"]), doc.get("event_type") == "letter.accepted_for_mailing"


class EmailClient:
    """SMTP with STARTTLS (required) to the requester: a notice without PHI (the tracking number and where to
    fetch the letter), never the letter itself. Our reference is the Message-ID; the provider's message log
    (`GET <status_url>/messages?message_id=`) says whether it already took it."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        portal_url: str,
        status_url: str,
        http: httpx.AsyncClient,
        timeout: float,
        verify_tls: bool = True,
    ) -> None:
        self.host, self.port, self.sender, self.portal_url = host, port, sender, portal_url.rstrip("/")
        self.status_url, self.http, self.timeout, self.verify_tls = status_url.rstrip("/"), http, timeout, verify_tls

    def notice(self, request: Send) -> Any:
        from email.message import EmailMessage

        tracking = request.packet.get("tracking_number", "")
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = request.destination["email"]
        msg["Subject"] = f"Prior authorization decision letter ready: {tracking}"
        msg["Message-ID"] = f"<{request.reference}@wiser.example>"
        msg.set_content(
            "A decision letter for your prior authorization request is ready.\n\n"
            f"Tracking number: {tracking}\n"
            f"Fetch it, signed in, at: {self.portal_url}/portal/letters?tracking={tracking}\n\n"
            "This notice carries no patient information and no letter; the letter is only in the portal.\n"
        )
        return msg

    async def send(self, request: Send) -> Outcome:
        import ssl

        import aiosmtplib

        context = ssl.create_default_context()
        if not self.verify_tls:
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        try:
            errors, reply = await aiosmtplib.send(
                self.notice(request),
                hostname=self.host,
                port=self.port,
                start_tls=True,
                tls_context=context,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPResponseException as e:
            return Outcome(False, status_code=e.code, response=e.message[:1000], error=f"SMTP {e.code}")
        except (aiosmtplib.SMTPException, OSError) as e:
            return Outcome(False, error=f"SMTP {type(e).__name__}")
        if errors:
            return Outcome(False, status_code=550, response=str(errors)[:1000], error="recipient refused")
        return Outcome(True, provider_id=request.reference, confirmed=True, status_code=250, response=reply[:1000])

    async def lookup(self, reference: str) -> Outcome | None:
        r = await self.http.get(
            f"{self.status_url}/messages", params={"message_id": f"{reference}@wiser.example"}, timeout=self.timeout
        )
        r.raise_for_status()
        items = r.json().get("items") or []
        if not items:
            return None
        return Outcome(True, provider_id=reference, confirmed=True, status_code=200, response=_excerpt(r))
