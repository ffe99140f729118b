"""Demo data for `make run` (dev only): the demo partner and a few packets from shared/fixtures."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from pathlib import Path
from typing import Any

import httpx

from wiser_servicekit.crypto import FieldCipher, configure_cipher
from wiser_servicekit.db import make_engine, make_sessionmaker
from wiser_servicekit.fixtures import load_fixtures, packet_body

from .adapters.partners import upsert_partner
from .bootstrap import bootstrap, document_store
from .config import Settings
from .domain.packet import PacketIn
from .usecases import packets as uc


def demo_pdf(title: str) -> bytes:
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=letter)
    c.setFont("Helvetica-Bold", 14)
    c.drawString(72, 720, "Clinical documentation (synthetic demo)")
    c.setFont("Helvetica", 11)
    c.drawString(72, 696, title)
    c.drawString(72, 672, "Conservative care for 6 weeks without relief. Requesting prior authorization.")
    c.showPage()
    c.save()
    return buf.getvalue()


async def seed_demo(settings: Settings, fixtures: Path, packets: bool = True) -> dict[str, Any]:
    if settings.env != "dev":
        raise SystemExit("seed-demo runs only with WISER_ENV=dev")
    fx = load_fixtures(fixtures)
    bens = json.loads((fixtures / "beneficiaries.json").read_text())["beneficiaries"]
    provs = json.loads((fixtures / "providers.json").read_text())
    configure_cipher(FieldCipher(settings.phi_keys, settings.phi_index_key))
    engine = make_engine(settings.database_url, settings.db_schema, 2)
    sessions = make_sessionmaker(engine)
    store = document_store(settings)
    await store.ensure_bucket()
    http = httpx.AsyncClient()
    ctx = bootstrap(settings, sessions, store=store, http=http)  # submitting needs no reference data
    try:
        async with sessions() as session, session.begin():
            await upsert_partner(
                session, settings.demo_partner_id, "Demo partner (dev)", settings.demo_partner_secret, 120_000
            )
            # One demo client per other channel (PARTNER_API.md), registered for it in settings.client_channels.
            for channel in ("esmd", "fax", "mail", "portal"):
                await upsert_partner(
                    session, f"demo-{channel}", f"Demo {channel} client (dev)", settings.demo_partner_secret, 120_000
                )
        by_state = {f["state"]: f for f in provs["facilities"]}
        pracs: dict[str, dict[str, Any]] = {}
        for p in provs["practitioners"]:
            usable = p["pecos"] == "enrolled" and p["nppes"] == "active" and not p["gold_card_exempt"]
            if usable and p.get("provider_type") in ("MD", "DO"):
                pracs.setdefault(p["state"], p)
        seeds = []
        for i, ben in enumerate(b for b in bens if b.get("status") == "eligible"):
            if ben["state"] not in by_state or ben["state"] not in pracs or i >= 4:
                continue
            body = packet_body(
                ben["last_name"],
                pracs[ben["state"]]["last_name"],
                facility_state=ben["state"],
                dos_days=21,
                fixtures=fx,
            )
            seeds.append({**body, "external_ref": f"DEMO-{i + 1}"})
        if seeds:
            broken = json.loads(json.dumps(seeds[0]))
            broken["beneficiary"]["mbi"] = broken["beneficiary"]["mbi"][:-1] + "O"
            broken["external_ref"] = "DEMO-MBI-TYPO"
            seeds.append(broken)
        created = []
        for p in seeds if packets else []:
            packet = PacketIn.model_validate(p)
            pdf = demo_pdf(f"Request {p['external_ref']}")
            doc = uc.IncomingDocument(
                document_id=uuid.uuid4(),
                filename="clinical-note.pdf",
                content_type="application/pdf",
                size=len(pdf),
                sha256=hashlib.sha256(pdf).hexdigest(),
                category="clinical",
                fileobj=io.BytesIO(pdf),
            )
            _, summary = await uc.submit_packet(
                ctx,
                settings.demo_partner_id,
                packet,
                [doc],
                idempotency_key=f"seed-{p['external_ref']}",
                req_hash=f"seed-{p['external_ref']}",
            )
            created.append({"external_ref": p["external_ref"], **summary})
        return {
            "partner": {"client_id": settings.demo_partner_id, "client_secret": settings.demo_partner_secret},
            "packets": created,
        }
    finally:
        await http.aclose()
        await engine.dispose()
