"""Outbound's providers in the sandbox: the request shapes they accept and refuse, idempotency, recording,
faults, and the SMTP server that insists on STARTTLS."""

from __future__ import annotations

import base64
import ssl
from email.message import EmailMessage

import aiosmtplib
import httpx
import pytest

from wiser_sandbox.app import create_app
from wiser_servicekit.testing import free_port

PDF = b"%PDF-1.4\n%%EOF\n"
FAX = {"Authorization": "Bearer dev-fax-api-key-change-me-0123456789abcd"}
MAIL = {"Authorization": "Bearer dev-mail-api-key-change-me-012345678901"}


def letter(reference: str, zip_code: str = "07102") -> dict[str, object]:
    return {
        "to": {"name": "A Q", "address_line1": "1 Main St", "address_city": "Newark", "address_state": "NJ",
               "address_zip": zip_code},
        "file": base64.b64encode(PDF).decode(),
        "reference": reference,
    }  # fmt: skip


async def test_fax_takes_a_pdf_for_a_us_number_and_finds_it_by_our_reference(client: httpx.AsyncClient) -> None:
    form = {"to": "+12015550111", "client_reference": "ref-1", "callback_url": "http://127.0.0.1:9/cb"}
    r = await client.post("/fax/v1/faxes", headers=FAX, data=form, files={"file": ("l.pdf", PDF, "application/pdf")})
    assert r.status_code == 201 and r.json()["status"] == "queued"
    found = (await client.get("/fax/v1/faxes", headers=FAX, params={"client_reference": "ref-1"})).json()["items"]
    assert found[0]["status"] == "delivered"
    bad = await client.post("/fax/v1/faxes", headers=FAX, data={**form, "to": "555"}, files={"file": ("l.pdf", PDF)})
    assert bad.status_code == 422
    assert (await client.post("/fax/v1/faxes", data=form, files={"file": ("l.pdf", PDF)})).status_code == 401
    seen = (await client.get("/_sandbox/outbound/fax")).json()["received"]
    assert seen[0]["client_reference"] == "ref-1" and seen[0]["is_pdf"] and "file" not in seen[0]


async def test_mail_honours_the_idempotency_key(client: httpx.AsyncClient) -> None:
    first = await client.post("/mail/v1/letters", headers={**MAIL, "Idempotency-Key": "k1"}, json=letter("r1"))
    again = await client.post("/mail/v1/letters", headers={**MAIL, "Idempotency-Key": "k1"}, json=letter("r1"))
    other = await client.post("/mail/v1/letters", headers={**MAIL, "Idempotency-Key": "k1"}, json=letter("r2"))
    assert first.status_code == 201 and again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert other.status_code == 422
    assert (await client.post("/mail/v1/letters", headers=MAIL, json=letter("r3"))).status_code == 400
    bad_zip = await client.post("/mail/v1/letters", headers={**MAIL, "Idempotency-Key": "k4"}, json=letter("r4", "x"))
    assert bad_zip.status_code == 422
    found = (await client.get("/mail/v1/letters", headers=MAIL, params={"reference": "r1"})).json()["items"]
    assert found[0]["status"] == "accepted_for_mailing"


async def test_esmd_wants_a_decision_code_and_the_letter_as_content_type_20(client: httpx.AsyncClient) -> None:
    doc = {"content_type": "20", "mime_type": "application/pdf", "data": base64.b64encode(PDF).decode()}
    ok = await client.post("/esmd/v1/pa-responses", json={"unique_id": "u1", "decision": "A", "documents": [doc]})
    assert ok.json()["status"] == "acknowledged"
    same = await client.post("/esmd/v1/pa-responses", json={"unique_id": "u1", "decision": "A", "documents": [doc]})
    assert same.json()["ack_id"] == ok.json()["ack_id"]
    wrong = {**doc, "content_type": "1"}
    r = await client.post("/esmd/v1/pa-responses", json={"unique_id": "u2", "decision": "A", "documents": [wrong]})
    assert r.status_code == 422
    r = await client.post("/esmd/v1/pa-responses", json={"unique_id": "u3", "decision": "X", "documents": [doc]})
    assert r.status_code == 422
    assert (await client.get("/esmd/v1/pa-responses/u1")).status_code == 200
    assert (await client.get("/esmd/v1/pa-responses/u9")).status_code == 404


async def test_a_fault_takes_the_fax_provider_down(client: httpx.AsyncClient) -> None:
    await client.post("/_sandbox/faults", json={"peer": "fax", "mode": "down", "count": 1})
    r = await client.get("/fax/v1/faxes", headers=FAX, params={"client_reference": "x"})
    assert r.status_code == 503
    assert (await client.get("/fax/v1/faxes", headers=FAX, params={"client_reference": "x"})).status_code == 200


async def test_smtp_requires_starttls_and_records_what_it_accepts() -> None:
    port = free_port()
    app = create_app(smtp_port=port)
    async with app.router.lifespan_context(app):
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = "a@x.example", "b@y.example", "s", "<m1@x>"
        msg.set_content("hello")
        with pytest.raises(aiosmtplib.SMTPException):
            await aiosmtplib.send(msg, hostname="127.0.0.1", port=port, start_tls=False, use_tls=False)
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        await aiosmtplib.send(msg, hostname="127.0.0.1", port=port, start_tls=True, tls_context=context)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
            items = (await c.get("/email/v1/messages", params={"message_id": "m1@x"})).json()["items"]
    assert items[0]["tls"] and items[0]["to"] == ["b@y.example"]


async def test_late_does_the_work_then_answers_after_the_delay(client: httpx.AsyncClient) -> None:
    import time

    await client.post("/_sandbox/faults", json={"peer": "esmd", "mode": "late", "count": 1, "delay_seconds": 0.5})
    doc = {"content_type": "20", "mime_type": "application/pdf", "data": base64.b64encode(PDF).decode()}
    started = time.monotonic()
    r = await client.post("/esmd/v1/pa-responses", json={"unique_id": "late-1", "decision": "N", "documents": [doc]})
    assert r.json()["status"] == "acknowledged" and time.monotonic() - started >= 0.5
    assert (await client.get("/esmd/v1/pa-responses/late-1")).status_code == 200
