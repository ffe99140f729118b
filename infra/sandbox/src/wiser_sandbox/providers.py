"""Outbound's providers as the sandbox speaks them: a fax provider, a print-and-mail letters API, the esMD
gateway's PA responses, and an email provider's message log (its SMTP server is smtp.py).

Every request is recorded (what arrived, never the PDF's bytes: its size and SHA-256) at
``GET /_sandbox/outbound/{peer}``, so a test can count what was sent and to where.

- fax ``POST /fax/v1/faxes`` (Bearer key; multipart ``file`` PDF, ``to`` +1NXXNXXXXXX, ``client_reference``,
  ``callback_url``) -> 201 ``{id, status: queued, ...}``; then a status callback to ``callback_url``:
  ``{event_id, fax_id, client_reference, status: delivered|failed, error?}`` signed
  ``X-Fax-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``, sent twice (providers retry their
  callbacks; the receiver must not care). Numbers ending 0199 never answer (status failed).
  ``GET /fax/v1/faxes?client_reference=`` -> ``{items: [...]}``.
- mail ``POST /mail/v1/letters`` (Bearer key, ``Idempotency-Key`` required; JSON ``to`` address, ``file``
  base64 PDF, ``reference``, ``webhook_url``) -> 201 ``{id, status: received}``; the same key and body again
  -> 200 with the same letter, another body -> 422; then ``letter.accepted_for_mailing`` to ``webhook_url``
  ``{id, event_type, letter_id, reference}`` signed ``Mail-Signature: sha256=<hex HMAC-SHA256(secret, body)>``.
  ``GET /mail/v1/letters?reference=``.
- esMD ``POST /esmd/v1/pa-responses`` ``{unique_id, esmd_transaction_id, decision: A|N|P, utn?, documents:
  [{content_type: "20", mime_type: application/pdf, data}]}`` -> 200 ``{ack_id, status: acknowledged}``
  (the same unique_id again: the same ack); ``GET /esmd/v1/pa-responses/{unique_id}``.
- email ``GET /email/v1/messages?message_id=`` -> what the SMTP server accepted with that Message-ID.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import os
import re
import time
import uuid
from collections import defaultdict
from typing import Any

import httpx
from fastapi import APIRouter, File, Form, Header, Request, UploadFile
from fastapi.responses import JSONResponse

FAX_KEY = os.environ.get("WISER_SANDBOX_FAX_API_KEY", "dev-fax-api-key-change-me-0123456789abcd")
FAX_SECRET = os.environ.get("WISER_SANDBOX_FAX_CALLBACK_SECRET", "dev-fax-callback-secret-change-me-012345")
MAIL_KEY = os.environ.get("WISER_SANDBOX_MAIL_API_KEY", "dev-mail-api-key-change-me-012345678901")
MAIL_SECRET = os.environ.get("WISER_SANDBOX_MAIL_CALLBACK_SECRET", "dev-mail-callback-secret-change-me-01234")
CALLBACK_DELAY = float(os.environ.get("WISER_SANDBOX_CALLBACK_DELAY", "0.3"))
E164_US = re.compile(r"^\+1[2-9]\d{2}[2-9]\d{6}$")
ZIP = re.compile(r"^\d{5}(-\d{4})?$")


class Recorder:
    def __init__(self) -> None:
        self.by_peer: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def add(self, peer: str, entry: dict[str, Any]) -> None:
        self.by_peer[peer].append({"at": time.time(), **entry})


def _auth(header: str | None, key: str) -> JSONResponse | None:
    if header != f"Bearer {key}":
        return JSONResponse({"error": "unauthorized"}, status_code=401)
    return None


def _pdf_facts(data: bytes) -> dict[str, Any]:
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "is_pdf": data.startswith(b"%PDF")}


def router(recorder: Recorder, email_log: dict[str, dict[str, Any]]) -> APIRouter:
    api = APIRouter()
    faxes: dict[str, dict[str, Any]] = {}
    letters: dict[str, dict[str, Any]] = {}
    keys: dict[str, tuple[str, str]] = {}  # idempotency key -> (body hash, letter id)
    acks: dict[str, dict[str, Any]] = {}
    ids = itertools.count(1)
    tasks: set[asyncio.Task[None]] = set()

    def later(coro: Any) -> None:
        task = asyncio.create_task(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def post_twice(url: str, body: bytes, headers: dict[str, str]) -> None:
        await asyncio.sleep(CALLBACK_DELAY)
        async with httpx.AsyncClient(timeout=5) as client:
            for _ in range(2):
                try:
                    await client.post(url, content=body, headers={"Content-Type": "application/json", **headers})
                except httpx.HTTPError:
                    pass

    # ------------------------------------------------------------------------------------------- fax

    @api.post("/fax/v1/faxes", tags=["fax"], status_code=201)
    async def send_fax(
        authorization: str | None = Header(default=None),
        file: UploadFile = File(...),
        to: str = Form(...),
        client_reference: str = Form(...),
        callback_url: str = Form(...),
    ) -> JSONResponse:
        if (refused := _auth(authorization, FAX_KEY)) is not None:
            return refused
        data = await file.read()
        facts = _pdf_facts(data)
        recorder.add("fax", {"to": to, "client_reference": client_reference, **facts})
        if not E164_US.match(to):
            return JSONResponse({"error": "invalid_number", "detail": "to must be +1NXXNXXXXXX"}, 422)
        if not facts["is_pdf"]:
            return JSONResponse({"error": "unsupported_media", "detail": "file must be a PDF"}, 415)
        fax_id = f"fax_{next(ids):06d}"
        fax = {"id": fax_id, "to": to, "client_reference": client_reference, "status": "queued", "pages": 1}
        faxes[fax_id] = fax
        ok = not to.endswith("0199")
        fax["status"] = "delivered" if ok else "failed"
        event = {
            "event_id": f"evt_{uuid.uuid4().hex[:16]}",
            "fax_id": fax_id,
            "client_reference": client_reference,
            "status": fax["status"],
            **({} if ok else {"error": "no_answer"}),
        }
        body = json.dumps(event).encode()
        t = int(time.time())
        sig = hmac.new(FAX_SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        later(post_twice(callback_url, body, {"X-Fax-Signature": f"t={t},v1={sig}"}))
        return JSONResponse({**fax, "status": "queued"}, status_code=201)

    @api.get("/fax/v1/faxes", tags=["fax"])
    async def find_faxes(client_reference: str, authorization: str | None = Header(default=None)) -> JSONResponse:
        if (refused := _auth(authorization, FAX_KEY)) is not None:
            return refused
        return JSONResponse({"items": [f for f in faxes.values() if f["client_reference"] == client_reference]})

    # ------------------------------------------------------------------------------------------ mail

    @api.post("/mail/v1/letters", tags=["mail"])
    async def send_letter(
        request: Request,
        authorization: str | None = Header(default=None),
        idempotency_key: str | None = Header(default=None),
    ) -> JSONResponse:
        if (refused := _auth(authorization, MAIL_KEY)) is not None:
            return refused
        raw = await request.body()
        try:
            doc = json.loads(raw)
            data = base64.b64decode(doc["file"])
            to = doc["to"]
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "invalid_request"}, 400)
        facts = _pdf_facts(data)
        digest = hashlib.sha256(raw).hexdigest()
        repeat = idempotency_key in keys if idempotency_key else False
        recorder.add(
            "mail",
            {"reference": doc.get("reference"), "zip": to.get("address_zip"), "repeat": repeat,
             "idempotency_key": idempotency_key, **facts},
        )  # fmt: skip
        if not idempotency_key:
            return JSONResponse({"error": "idempotency_key_required"}, 400)
        if repeat:
            body_hash, letter_id = keys[idempotency_key]
            if body_hash != digest:
                return JSONResponse({"error": "idempotency_key_reused", "detail": "another body"}, 422)
            return JSONResponse(letters[letter_id], 200)
        if not (to.get("address_line1") and ZIP.match(str(to.get("address_zip") or ""))):
            return JSONResponse({"error": "invalid_address", "detail": "address_line1 and a ZIP are required"}, 422)
        if not facts["is_pdf"]:
            return JSONResponse({"error": "unsupported_media"}, 415)
        letter_id = f"ltr_{next(ids):06d}"
        letter = {"id": letter_id, "reference": doc.get("reference"), "status": "received", "pages": 1}
        letters[letter_id], keys[idempotency_key] = letter, (digest, letter_id)
        letter_out = dict(letter)
        letter["status"] = "accepted_for_mailing"
        event = {
            "id": f"evt_{uuid.uuid4().hex[:16]}",
            "event_type": "letter.accepted_for_mailing",
            "letter_id": letter_id,
            "reference": doc.get("reference"),
        }
        body = json.dumps(event).encode()
        sig = "sha256=" + hmac.new(MAIL_SECRET.encode(), body, hashlib.sha256).hexdigest()
        if doc.get("webhook_url"):
            later(post_twice(doc["webhook_url"], body, {"Mail-Signature": sig}))
        return JSONResponse(letter_out, 201)

    @api.get("/mail/v1/letters", tags=["mail"])
    async def find_letters(reference: str, authorization: str | None = Header(default=None)) -> JSONResponse:
        if (refused := _auth(authorization, MAIL_KEY)) is not None:
            return refused
        return JSONResponse({"items": [x for x in letters.values() if x["reference"] == reference]})

    # ------------------------------------------------------------------------------------------ esMD

    @api.post("/esmd/v1/pa-responses", tags=["esmd"])
    async def pa_response(request: Request) -> JSONResponse:
        try:
            doc = json.loads(await request.body())
            unique_id = str(doc["unique_id"])
            documents = doc["documents"]
            data = base64.b64decode(documents[0]["data"])
        except (ValueError, KeyError, TypeError, IndexError):
            return JSONResponse({"status": "rejected", "error": "malformed"}, 400)
        facts = _pdf_facts(data)
        repeat = unique_id in acks
        recorder.add(
            "esmd",
            {"unique_id": unique_id, "decision": doc.get("decision"), "utn": doc.get("utn"), "repeat": repeat,
             "content_types": [d.get("content_type") for d in documents], **facts},
        )  # fmt: skip
        if repeat:
            return JSONResponse(acks[unique_id])
        if doc.get("decision") not in ("A", "N", "P"):
            return JSONResponse({"status": "rejected", "error": "decision must be A, N or P"}, 422)
        if documents[0].get("content_type") != "20" or not facts["is_pdf"]:
            return JSONResponse({"status": "rejected", "error": "the letter goes as content type 20, a PDF"}, 422)
        acks[unique_id] = {"ack_id": f"ack_{next(ids):06d}", "unique_id": unique_id, "status": "acknowledged"}
        return JSONResponse(acks[unique_id])

    @api.get("/esmd/v1/pa-responses/{unique_id}", tags=["esmd"])
    async def pa_response_status(unique_id: str) -> JSONResponse:
        if unique_id not in acks:
            return JSONResponse({"error": "not_found"}, 404)
        return JSONResponse(acks[unique_id])

    # ----------------------------------------------------------------------------------------- email

    @api.get("/email/v1/messages", tags=["email"])
    async def find_message(message_id: str) -> JSONResponse:
        found = email_log.get(message_id)
        return JSONResponse({"items": [found] if found else []})

    @api.get("/_sandbox/outbound/{peer}", tags=["sandbox"])
    async def recorded(peer: str) -> dict[str, Any]:
        return {"peer": peer, "received": recorder.by_peer.get(peer, [])}

    return api
