"""The sandbox's SMTP server (aiosmtpd): STARTTLS required before any mail, a self-signed certificate made at
start-up, every accepted message recorded (headers, parts' content types, never kept as a mailbox)."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import ssl
import tempfile
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .faults import Faults


def self_signed(directory: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sandbox-smtp.local")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context


class Handler:
    def __init__(self, recorder: Any, log: dict[str, dict[str, Any]], faults: Faults) -> None:
        self.recorder, self.log, self.faults = recorder, log, faults

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        fault = self.faults.take("email")
        if fault is not None and fault.mode in ("down", "error"):
            return "421 4.3.0 sandbox fault: service not available"
        if fault is not None and fault.mode == "slow":
            await asyncio.sleep(fault.delay_seconds)
        raw = envelope.original_content or envelope.content or b""
        data = raw if isinstance(raw, bytes) else raw.encode()
        message = email.message_from_bytes(data, policy=email.policy.default)
        parts = [p.get_content_type() for p in message.walk() if not p.is_multipart()]
        text = ""
        body = message.get_body(preferencelist=("plain",))
        if body is not None:
            text = body.get_content()  # type: ignore[attr-defined]
        entry = {
            "message_id": str(message.get("Message-ID", "")).strip("<>"),
            "from": envelope.mail_from,
            "to": list(envelope.rcpt_tos),
            "subject": str(message.get("Subject", "")),
            "content_types": parts,
            "text": text,
            "tls": bool(session.ssl),
            "status": "accepted",
        }
        self.recorder.add("email", entry)
        message_id = str(entry["message_id"])
        self.log[message_id] = entry
        if fault is not None and fault.mode == "late":  # taken, then the 250 comes late
            await asyncio.sleep(fault.delay_seconds)
        return "250 2.0.0 OK: queued as " + message_id


class SmtpServer:
    def __init__(
        self, recorder: Any, log: dict[str, dict[str, Any]], faults: Faults, port: int, host: str = "127.0.0.1"
    ) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="sandbox-smtp-")
        context = self_signed(Path(self._dir.name))
        self.controller = Controller(
            Handler(recorder, log, faults),
            hostname=host,
            port=port,
            tls_context=context,
            require_starttls=True,
        )

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()
        self._dir.cleanup()
