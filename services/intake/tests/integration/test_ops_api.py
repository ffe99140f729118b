"""The ops API the gateway calls: identity tokens, roles, search, corrections (T5), dismissal (T6)."""

from __future__ import annotations

import uuid
from typing import Any

from wiser_contracts import messages as m
from wiser_servicekit.identity import DEMO_PRIVATE_KEYS, generate_keypair


async def in_manual_review(client, partner, bus, wait_state, build_packet, **over: Any) -> str:
    pid = (await client.post("/api/v1/packets", json=build_packet(**over), headers=partner)).json()["packet_id"]
    await bus.publish(
        m.PacketValidated(
            packet_id=uuid.UUID(pid),
            producer="validation",
            run=1,
            outcome="needs_correction",
            findings=(
                m.Finding(check="mbi_format", code="MBI_FORMAT", severity="correction", field="beneficiary.mbi"),
            ),
        )
    )
    await wait_state(pid, "manual_review")
    return pid


async def test_the_ops_api_wants_a_valid_identity_token(client, staff) -> None:
    assert (await client.get("/api/v1/ops/packets")).status_code == 401
    expired = await client.get("/api/v1/ops/packets", headers=staff("ops_tier1", ttl=-10))
    assert expired.status_code == 401 and expired.json()["code"] == "TOKEN_EXPIRED"
    forged = await client.get("/api/v1/ops/packets", headers=staff("ops_tier1", key=generate_keypair()[0]))
    assert forged.status_code == 401 and forged.json()["code"] == "TOKEN_INVALID"
    assert (await client.get("/api/v1/ops/packets", headers=staff())).status_code == 403
    assert (await client.get("/api/v1/ops/packets", headers=staff("ops_tier1"))).status_code == 200
    assert (await client.get("/api/v1/ops/packets", headers=staff("supervisor"))).status_code == 200


async def test_a_service_key_cannot_make_a_supervisor(client, staff, partner, build_packet) -> None:
    pid = (await client.post("/api/v1/packets", json=build_packet(), headers=partner)).json()["packet_id"]
    validation = DEMO_PRIVATE_KEYS["wiser-validation"]
    as_supervisor = staff("supervisor", user="svc:validation", key=validation, issuer="wiser-validation")
    r = await client.get("/api/v1/ops/packets", headers=as_supervisor)
    assert r.status_code == 401 and r.json()["code"] == "TOKEN_INVALID"
    as_gateway = staff("supervisor", key=validation)  # claims to be the gateway, signed by validation
    assert (await client.get("/api/v1/ops/packets", headers=as_gateway)).status_code == 401
    service = staff("service", user="svc:validation", key=validation, issuer="wiser-validation")
    assert (await client.get("/api/v1/ops/packets", headers=service)).status_code == 403  # not staff
    assert (await client.get(f"/api/v1/ops/packets/{pid}", headers=service)).status_code == 200  # may read one


async def test_a_partner_token_does_not_open_the_ops_api(client, partner) -> None:
    assert (await client.get("/api/v1/ops/packets", headers=partner)).status_code == 401


async def test_packets_are_found_by_name_mbi_and_tracking_number(client, partner, staff, build_packet) -> None:
    created = (
        await client.post(
            "/api/v1/packets", json=build_packet(ben="Marwood", prac="Achterberg", state="OH"), headers=partner
        )
    ).json()
    h = staff("ops_tier1")
    for q in ("Marwood", "celia marwood", "6F76VP9RY38", created["tracking_number"]):
        items = (await client.get("/api/v1/ops/packets", params={"q": q, "limit": 200}, headers=h)).json()["items"]
        assert created["packet_id"] in [i["packet_id"] for i in items], q
    filtered = (
        await client.get(
            "/api/v1/ops/packets",
            headers=h,
            params={
                "state_of_service": "OH",
                "service_code": "64581",
                "review_type": "standard",
                "state": "validating",
                "limit": 200,
            },
        )
    ).json()["items"]
    assert created["packet_id"] in [i["packet_id"] for i in filtered]
    assert all(i["state_of_service"] == "OH" for i in filtered)
    none = await client.get("/api/v1/ops/packets", headers=h, params={"q": "Marwood", "state_of_service": "NJ"})
    assert created["packet_id"] not in [i["packet_id"] for i in none.json()["items"]]
    counts = (await client.get("/api/v1/ops/packets/counts", headers=h)).json()
    assert counts["validating"] >= 1 and set(counts) >= {"received", "closed"}


async def test_at_risk_packets_are_flagged(client, partner, staff, build_packet) -> None:
    pid = (
        await client.post(
            "/api/v1/packets", json=build_packet(review_type="expedited", expedited_reason="deficit"), headers=partner
        )
    ).json()
    items = (
        await client.get("/api/v1/ops/packets", headers=staff("supervisor"), params={"at_risk": "false", "limit": 200})
    ).json()["items"]
    row = next(i for i in items if i["packet_id"] == pid["packet_id"])
    assert row["at_risk"] is False and row["seconds_to_due"] > 47 * 3600


async def test_corrections_record_old_and_new_values_and_validate_again(
    client, partner, staff, bus, wait_state, build_packet
) -> None:
    pid = await in_manual_review(client, partner, bus, wait_state, build_packet)
    h = staff("ops_tier1", user="ops-ann")
    detail = await client.get(f"/api/v1/ops/packets/{pid}", headers=h)
    etag = detail.headers["etag"]
    body = {"corrections": [{"field": "beneficiary.mbi", "value": "9J06YC0QA26", "reason": "typo on the form"}]}
    stale = await client.patch(f"/api/v1/ops/packets/{pid}", json=body, headers={**h, "If-Match": '"1"'})
    assert stale.status_code == 412 and stale.json()["code"] == "VERSION_MISMATCH"
    assert (await client.patch(f"/api/v1/ops/packets/{pid}", json=body, headers=h)).status_code == 428
    r = await client.patch(f"/api/v1/ops/packets/{pid}", json=body, headers={**h, "If-Match": etag})
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["state"] == "validating" and after["validation_run"] == 2
    assert after["corrections"][0]["field"] == "beneficiary.mbi"
    assert after["corrections"][0]["new_value"] == "9J06YC0QA26" and after["corrections"][0]["actor_id"] == "ops-ann"
    assert [h["transition"] for h in after["history"]] == ["T1", "T3", "T5"]
    assert r.headers["etag"] == f'"{after["version"]}"'


async def test_a_correction_that_breaks_the_packet_is_refused_whole(
    client, partner, staff, bus, wait_state, build_packet
) -> None:
    pid = await in_manual_review(client, partner, bus, wait_state, build_packet)
    h = staff("ops_tier2")
    etag = (await client.get(f"/api/v1/ops/packets/{pid}", headers=h)).headers["etag"]
    body = {"corrections": [{"field": "beneficiary.date_of_birth", "value": "not a date", "reason": "x"}]}
    r = await client.patch(f"/api/v1/ops/packets/{pid}", json=body, headers={**h, "If-Match": etag})
    assert r.status_code == 422
    assert (await client.get(f"/api/v1/ops/packets/{pid}", headers=h)).json()["state"] == "manual_review"
    body = {"corrections": [{"field": "partner_client_id", "value": "x", "reason": "x"}]}
    assert (
        await client.patch(f"/api/v1/ops/packets/{pid}", json=body, headers={**h, "If-Match": etag})
    ).status_code == 422


async def test_only_tier2_or_supervisors_dismiss(client, partner, staff, bus, wait_state, build_packet) -> None:
    pid = await in_manual_review(client, partner, bus, wait_state, build_packet)
    body = {"code": "INVALID_BENEFICIARY", "note": "beneficiary deceased per call"}
    r = await client.post(f"/api/v1/ops/packets/{pid}/dismiss", json=body, headers=staff("ops_tier1"))
    assert r.status_code == 403
    bad = await client.post(
        f"/api/v1/ops/packets/{pid}/dismiss", json={**body, "code": "BECAUSE"}, headers=staff("ops_tier2")
    )
    assert bad.status_code == 409 and bad.json()["code"] == "GUARD_FAILED"
    ok = await client.post(f"/api/v1/ops/packets/{pid}/dismiss", json=body, headers=staff("ops_tier2"))
    assert ok.status_code == 200, ok.text
    assert ok.json()["state"] == "determined"
    assert (
        ok.json()["determination"]["outcome"] == "dismissed" and ok.json()["dismissal"]["code"] == "INVALID_BENEFICIARY"
    )
    partner_view = (await client.get(f"/api/v1/packets/{pid}", headers=partner)).json()
    assert partner_view["dismissal"]["all"] == [
        {"code": "INVALID_BENEFICIARY", "reason": partner_view["dismissal"]["reason"]}
    ]


async def test_documents_are_served_to_staff(client, partner, staff, build_packet, pdf_bytes) -> None:
    import json

    r = await client.post(
        "/api/v1/packets",
        headers=partner,
        data={"packet": json.dumps(build_packet())},
        files=[("documents", ("n.pdf", pdf_bytes, "application/pdf"))],
    )
    pid = r.json()["packet_id"]
    detail = (await client.get(f"/api/v1/ops/packets/{pid}", headers=staff("ops_tier1"))).json()
    doc = detail["documents"][0]
    got = await client.get(f"/api/v1/ops/packets/{pid}/documents/{doc['document_id']}", headers=staff("auditor"))
    assert got.status_code == 200 and got.content == pdf_bytes
    assert got.headers["content-type"] == "application/pdf"


async def test_a_supervisor_can_withdraw_but_a_nurse_cannot(client, partner, staff, build_packet) -> None:
    pid = (await client.post("/api/v1/packets", json=build_packet(), headers=partner)).json()["packet_id"]
    body = {"reason": "requester called"}
    assert (
        await client.post(f"/api/v1/ops/packets/{pid}/withdraw", json=body, headers=staff("clinical_reviewer"))
    ).status_code == 403
    r = await client.post(f"/api/v1/ops/packets/{pid}/withdraw", json=body, headers=staff("supervisor"))
    assert r.status_code == 200 and r.json()["state"] == "closed" and r.json()["closure_reason"] == "withdrawn"


async def test_the_facts_view_is_the_detail_without_history_documents_and_corrections(
    client, staff, partner, build_packet
) -> None:
    packet = build_packet()
    packet["diagnosis_codes"] = ["M17.11", "E11.9"]
    pid = (await client.post("/api/v1/packets", json=packet, headers=partner)).json()["packet_id"]
    validation = DEMO_PRIVATE_KEYS["wiser-validation"]
    service = staff("service", user="svc:validation", key=validation, issuer="wiser-validation")
    full = await client.get(f"/api/v1/ops/packets/{pid}", headers=service)
    facts = await client.get(f"/api/v1/ops/packets/{pid}", params={"view": "facts"}, headers=service)
    assert facts.status_code == 200 and facts.headers["etag"] == full.headers["etag"]
    expected = {k: v for k, v in full.json().items() if k not in ("history", "documents", "corrections")}
    got = facts.json()
    assert got.pop("document_count") == len(full.json()["documents"])
    earlier = got.pop("earlier_open_requests")  # validation's duplicate check: open ones received before this one
    assert all(e["packet_id"] != pid and e["received_at"] <= got["received_at"] for e in earlier)
    expected.pop("seconds_to_due"), got.pop("seconds_to_due")  # a clock reading, taken twice
    assert got == expected and got["diagnosis_codes"] == ["M17.11", "E11.9"]
    as_partner = await client.get(f"/api/v1/ops/packets/{pid}", params={"view": "facts"}, headers=partner)
    assert as_partner.status_code == 401


async def test_dismissal_answers_503_while_the_reference_data_is_unreachable(
    app, client, partner, staff, bus, wait_state, build_packet
) -> None:
    import httpx

    from wiser_intake.adapters.reference import ValidationReference
    from wiser_servicekit.testing import free_port

    pid = await in_manual_review(client, partner, bus, wait_state, build_packet)
    ctx = app.state.intake
    real = ctx.reference
    async with httpx.AsyncClient() as http:
        ctx.reference = ValidationReference(
            f"http://127.0.0.1:{free_port()}", ctx.settings.signing_key(), ctx.settings.identity_issuer, http
        )
        try:
            body = {"code": "INVALID_BENEFICIARY", "note": "beneficiary deceased per call"}
            r = await client.post(f"/api/v1/ops/packets/{pid}/dismiss", json=body, headers=staff("ops_tier2"))
        finally:
            ctx.reference = real
    assert r.status_code == 503 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "REFERENCE_UNAVAILABLE" and r.headers["retry-after"]
    detail = (await client.get(f"/api/v1/ops/packets/{pid}", headers=staff("ops_tier1"))).json()
    assert detail["state"] == "manual_review" and detail["dismissal"] is None  # nothing half-written


async def test_a_dismissal_keeps_the_texts_it_was_made_with(client, partner, staff, bus, wait_state, build_packet):
    pid = await in_manual_review(client, partner, bus, wait_state, build_packet)
    body = {"code": "WRONG_JURISDICTION", "note": "sent to the wrong MAC"}
    r = await client.post(f"/api/v1/ops/packets/{pid}/dismiss", json=body, headers=staff("supervisor"))
    assert r.status_code == 200, r.text
    dismissal = r.json()["dismissal"]
    # validation's reference list (its wording wins over the copy intake used to keep)
    assert dismissal["reason"] == "Sent to the wrong state's reviewer or MAC"
    assert dismissal["corrective_action"] == "Resubmit to the right reviewer or MAC"


async def test_the_facts_view_lists_the_open_requests_received_earlier_from_the_same_practitioner_for_the_mbi(
    client, staff, partner, build_packet
) -> None:
    """Validation judges duplicates in intake's receipt order (received_at, then tracking number)."""
    service = staff(
        "service", user="svc:validation", key=DEMO_PRIVATE_KEYS["wiser-validation"], issuer="wiser-validation"
    )

    async def submit(**over: Any) -> dict[str, Any]:
        r = await client.post("/api/v1/packets", json=build_packet("Sorelli", "Okonkwo", **over), headers=partner)
        assert r.status_code == 201, r.text
        return r.json()

    async def earlier(pid: str) -> list[dict[str, Any]]:
        r = await client.get(f"/api/v1/ops/packets/{pid}", params={"view": "facts"}, headers=service)
        return r.json()["earlier_open_requests"]  # type: ignore[no-any-return]

    first = await submit()
    withdrawn = await submit(code="29877", dx="M17.11")
    other_practitioner = (
        await client.post("/api/v1/packets", json=build_packet("Sorelli", "Brightwater"), headers=partner)
    ).json()
    withdraw = {"reason": "requester called"}
    r = await client.post(
        f"/api/v1/ops/packets/{withdrawn['packet_id']}/withdraw", json=withdraw, headers=staff("supervisor")
    )
    assert r.status_code == 200
    last = await submit(code="22554", dx="M50.12")

    assert await earlier(first["packet_id"]) == []
    listed = await earlier(last["packet_id"])
    assert [e["packet_id"] for e in listed] == [first["packet_id"]]  # not the closed one, not another practitioner's
    assert listed[0]["codes"] == ["64581"] and listed[0]["tracking_number"] == first["tracking_number"]
    assert other_practitioner["packet_id"] not in {e["packet_id"] for e in listed}
