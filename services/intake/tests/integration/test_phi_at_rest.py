"""PHI at rest: the beneficiary and corrected values are stored encrypted; the MBI only as a blind index."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from wiser_contracts import messages as m


async def test_no_mbi_or_birth_date_is_stored_readable(
    client, partner, build_packet, ctx, bus, wait_state, staff
) -> None:
    body = build_packet(ben="Tallis", prac="Delacroix", state="OK")
    pid = (await client.post("/api/v1/packets", json=body, headers=partner)).json()["packet_id"]
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
    h = staff("ops_tier1")
    etag = (await client.get(f"/api/v1/ops/packets/{pid}", headers=h)).headers["etag"]
    fix = {"corrections": [{"field": "beneficiary.mbi", "value": "8YX5PR0QH62", "reason": "checked"}]}
    assert (await client.patch(f"/api/v1/ops/packets/{pid}", json=fix, headers={**h, "If-Match": etag})).is_success
    async with ctx.sessions() as session:
        packet_row = (await session.execute(text("SELECT * FROM packets WHERE id = :id"), {"id": pid})).mappings().one()
        correction_rows = (
            (await session.execute(text("SELECT * FROM corrections WHERE packet_id = :id"), {"id": pid}))
            .mappings()
            .all()
        )
    stored = " ".join(str(v) for v in packet_row.values()) + " ".join(
        str(v) for r in correction_rows for v in r.values()
    )
    for secret in (body["beneficiary"]["mbi"], body["beneficiary"]["date_of_birth"], "8YX5PR0QH62"):
        assert secret not in stored
    found = (await client.get("/api/v1/ops/packets", params={"q": "8yx5pr0qh62"}, headers=h)).json()["items"]
    assert [i["packet_id"] for i in found] == [pid] and found[0]["mbi"] == "8YX5PR0QH62"
    detail = (await client.get(f"/api/v1/ops/packets/{pid}", headers=h)).json()
    assert detail["corrections"][0]["new_value"] == "8YX5PR0QH62"
