"""PHI at rest, continued: no readable name kept for search (keyed blind indexes of the names' words and
prefixes instead), file names and free-text reasons and notes encrypted, and search still finds packets
by name, MBI, tracking number and UTN."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import text

from wiser_contracts import messages as m
from wiser_servicekit.fixtures import load_fixtures

SECRET_NOTE = "spoke with daughter about hospice"


async def raw_rows(ctx: Any, pid: str) -> str:
    """Everything intake's tables hold about the packet, as stored (no decryption), and its outbox rows."""
    out = []
    async with ctx.sessions() as session:
        # The outbox too: what intake said about the packet on the bus carries ids and codes, no free text.
        for table in ("packets", "documents", "transitions", "corrections", "outbox"):
            key = "id" if table == "packets" else "packet_id"
            rows = (await session.execute(text(f"SELECT * FROM {table} WHERE {key} = :id"), {"id": pid})).mappings()
            out.extend(str(v) for r in rows for v in r.values())
    return " ".join(out).lower()


async def test_names_file_names_reasons_and_notes_are_not_stored_readable(
    client, partner, build_packet, ctx, bus, wait_state, staff
) -> None:
    ben = load_fixtures().beneficiaries["Marwood"]
    first, last = ben["first_name"], ben["last_name"]
    body = build_packet(
        ben="Marwood", prac="Achterberg", state="OH", review_type="expedited", expedited_reason=f"{first} falls daily"
    )
    filename = f"{last}-{first}-sleep-study.pdf"
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    r = await client.post(
        "/api/v1/packets",
        headers=partner,
        data={"packet": json.dumps(body)},
        files=[("documents", (filename, pdf, "application/pdf"))],
    )
    assert r.status_code == 201, r.text
    pid = r.json()["packet_id"]
    await bus.publish(
        m.PacketValidated(
            packet_id=uuid.UUID(pid),
            producer="validation",
            run=1,
            outcome="needs_correction",
            findings=(m.Finding(check="mbi", code="MBI_FORMAT", severity="correction"),),
        )
    )
    await wait_state(pid, "manual_review")
    ops = staff("supervisor")
    etag = (await client.get(f"/api/v1/ops/packets/{pid}", headers=ops)).headers["etag"]
    fix = {"corrections": [{"field": "place_of_service", "value": "22", "reason": f"called {last} at home"}]}
    assert (await client.patch(f"/api/v1/ops/packets/{pid}", json=fix, headers={**ops, "If-Match": etag})).is_success
    await bus.publish(
        m.PacketValidated(
            packet_id=uuid.UUID(pid),
            producer="validation",
            run=2,
            outcome="needs_correction",
            findings=(m.Finding(check="mbi", code="MBI_FORMAT", severity="correction"),),
        )
    )
    await wait_state(pid, "manual_review")
    dismissed = await client.post(
        f"/api/v1/ops/packets/{pid}/dismiss", headers=ops, json={"code": "INVALID_BENEFICIARY", "note": SECRET_NOTE}
    )
    assert dismissed.status_code == 200, dismissed.text

    # A second packet, withdrawn with a reason that names the patient.
    other = (await client.post("/api/v1/packets", json=build_packet(ben="Marwood"), headers=partner)).json()
    withdraw = {"reason": f"{first} {last} moved to hospice"}
    assert (
        await client.post(f"/api/v1/packets/{other['packet_id']}/withdraw", json=withdraw, headers=partner)
    ).is_success

    for packet_id in (pid, other["packet_id"]):
        stored = await raw_rows(ctx, packet_id)
        for secret in (first, last, f"{first} {last}", filename, "sleep-study", "falls daily", SECRET_NOTE, "home"):
            assert secret.lower() not in stored, secret

    # Read back through the API, everything is there in the clear.
    detail = (await client.get(f"/api/v1/ops/packets/{pid}", headers=ops)).json()
    assert detail["documents"][0]["filename"] == filename
    assert detail["expedited_reason"] == f"{first} falls daily"
    assert detail["corrections"][0]["reason"] == f"called {last} at home"
    assert detail["dismissal"]["note"] == SECRET_NOTE and detail["dismissal"]["code"] == "INVALID_BENEFICIARY"
    assert SECRET_NOTE in detail["history"][-1]["reason"]
    doc = await client.get(f"/api/v1/ops/packets/{pid}/documents/{detail['documents'][0]['document_id']}", headers=ops)
    assert doc.status_code == 200 and filename in doc.headers["content-disposition"]
    withdrawn = (await client.get(f"/api/v1/ops/packets/{other['packet_id']}", headers=ops)).json()
    assert withdrawn["history"][-1]["reason"] == withdraw["reason"]


async def test_search_finds_packets_by_name_prefixes_mbi_tracking_number_and_utn(
    client, partner, build_packet, staff, ctx
) -> None:
    ben = load_fixtures().beneficiaries["Tallis"]
    first, last, mbi = ben["first_name"], ben["last_name"], ben["mbi"]
    created = (await client.post("/api/v1/packets", json=build_packet(ben="Tallis"), headers=partner)).json()
    pid = created["packet_id"]
    utn = "JLA26" + f"{uuid.uuid4().int % 10**9:09d}"
    async with ctx.sessions() as session, session.begin():  # as if the MAC had issued it
        await session.execute(text("UPDATE packets SET utn = :u WHERE id = :id"), {"u": utn, "id": pid})
    h = staff("ops_tier1")

    async def found(q: str) -> bool:
        r = await client.get("/api/v1/ops/packets", params={"q": q, "limit": 200}, headers=h)
        assert r.status_code == 200, r.text
        return pid in [i["packet_id"] for i in r.json()["items"]]

    hits = (
        last,
        last.upper(),
        last[:3],
        first[:4].lower(),
        f"{first} {last}",
        f"{last}, {first}",
        f"{first[:3]} {last[:3]}",
        mbi,
        mbi.lower(),
        created["tracking_number"],
        utn.lower(),
    )
    for q in hits:
        assert await found(q), q
    for q in (last + "x", f"{first} Zzyzx", last[1:4], "Qq"):
        assert not await found(q), q
    row = next(
        i
        for i in (await client.get("/api/v1/ops/packets", params={"q": last}, headers=h)).json()["items"]
        if i["packet_id"] == pid
    )
    assert row["beneficiary_name"] == f"{first} {last}" and row["mbi"] == mbi.upper()
