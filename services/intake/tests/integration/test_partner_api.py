"""The partner API against real PostgreSQL, RabbitMQ and S3."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from wiser_intake.adapters.partners import add_api_key, upsert_partner
from wiser_intake.adapters.tables import packets


async def count_rows(ctx: Any, external_ref: str) -> int:
    async with ctx.sessions() as session:
        return int(await session.scalar(select(func.count()).where(packets.c.external_ref == external_ref)) or 0)


def multipart(packet: dict[str, Any], files: list[tuple[str, bytes, str]]) -> dict[str, Any]:
    return {
        "data": {"packet": json.dumps(packet)},
        "files": [("documents", (name, body, ctype)) for name, body, ctype in files],
    }


async def test_a_json_packet_is_accepted_and_starts_validation(client, partner, build_packet) -> None:
    r = await client.post("/api/v1/packets", json=build_packet(), headers=partner)
    assert r.status_code == 201, r.text
    body = r.json()
    assert r.headers["location"] == f"/api/v1/packets/{body['packet_id']}"
    assert body["state"] == "validating"
    assert body["tracking_number"].startswith("WSR-")
    got = (await client.get(f"/api/v1/packets/{body['packet_id']}", headers=partner)).json()
    assert got["history"][0]["from"] == "received" and got["history"][0]["to"] == "validating"


async def test_a_multipart_packet_stores_its_documents_in_s3(client, partner, build_packet, pdf_bytes, ctx) -> None:
    p = build_packet()
    r = await client.post(
        "/api/v1/packets", headers=partner, **multipart(p, [("note.pdf", pdf_bytes, "application/pdf")])
    )
    assert r.status_code == 201, r.text
    pid = r.json()["packet_id"]
    assert await ctx.store.count(f"packets/{pid}/") == 1


BAD_INPUTS = {
    "missing MBI": lambda p: p["beneficiary"].pop("mbi"),
    "units as text": lambda p: p["services"][0].__setitem__("units", "one"),
    "date of birth not a date": lambda p: p["beneficiary"].__setitem__("date_of_birth", "yesterday"),
    "services not a list": lambda p: p.__setitem__("services", "64581"),
    "unknown top-level field": lambda p: p.__setitem__("priority", "urgent"),
    "unknown beneficiary field": lambda p: p["beneficiary"].__setitem__("ssn", "000-00-0000"),
    "expedited without reason": lambda p: p.__setitem__("review_type", "expedited"),
    "resubmission without UTN": lambda p: p.__setitem__("submission_type", "resubmission"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
async def test_bad_partner_input_is_a_problem_and_stores_nothing(case, client, partner, build_packet, ctx) -> None:
    p = build_packet()
    BAD_INPUTS[case](p)
    before = await ctx.store.count("packets/")
    r = await client.post("/api/v1/packets", json=p, headers=partner)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["status"] == 422 and problem["errors"]
    assert await count_rows(ctx, p["external_ref"]) == 0
    assert await ctx.store.count("packets/") == before


async def test_a_missing_mbi_names_the_field(client, partner, build_packet) -> None:
    p = build_packet()
    del p["beneficiary"]["mbi"]
    r = await client.post("/api/v1/packets", json=p, headers=partner)
    assert {"field": "beneficiary.mbi", "code": "MISSING"} in [
        {"field": e["field"], "code": e["code"]} for e in r.json()["errors"]
    ]


@pytest.mark.parametrize(
    ("name", "body", "ctype", "status"),
    [
        ("scan.pdf", b"MZ\x90\x00" + b"\x00" * 2000, "application/pdf", 415),
        ("run.sh", b"#!/bin/sh\nrm -rf /\n", "application/pdf", 415),
        ("big.pdf", b"%PDF-1.4\n" + b"0" * (60 * 1024 * 1024), "application/pdf", 413),
    ],
    ids=["executable named .pdf", "script", "60 MB"],
)
async def test_bad_documents_are_refused_and_nothing_is_written(
    name, body, ctype, status, client, partner, build_packet, pdf_bytes, ctx
) -> None:
    p = build_packet()
    before = await ctx.store.count("packets/")
    files = [("good.pdf", pdf_bytes, "application/pdf"), (name, body, ctype)]
    r = await client.post("/api/v1/packets", headers=partner, **multipart(p, files))
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert await count_rows(ctx, p["external_ref"]) == 0
    assert await ctx.store.count("packets/") == before


async def test_too_many_documents_are_refused(client, partner, build_packet, pdf_bytes, ctx) -> None:
    p = build_packet()
    files = [(f"d{i}.pdf", pdf_bytes, "application/pdf") for i in range(21)]
    r = await client.post("/api/v1/packets", headers=partner, **multipart(p, files))
    assert r.status_code == 413
    assert await count_rows(ctx, p["external_ref"]) == 0


async def test_another_partners_packet_is_not_found(client, partner, new_partner, build_packet, pdf_bytes) -> None:
    pid = (await client.post("/api/v1/packets", json=build_packet(), headers=partner)).json()["packet_id"]
    other = await new_partner()
    assert (await client.get(f"/api/v1/packets/{pid}", headers=other)).status_code == 404
    r = await client.post(f"/api/v1/packets/{pid}/withdraw", json={"reason": "not mine"}, headers=other)
    assert r.status_code == 404
    r = await client.post(
        f"/api/v1/packets/{pid}/documents", headers=other, files={"file": ("x.pdf", pdf_bytes, "application/pdf")}
    )
    assert r.status_code == 404
    listed = (await client.get("/api/v1/packets", headers=other)).json()
    assert all(item["packet_id"] != pid for item in listed["items"])


async def test_an_idempotency_key_replays_the_same_packet(client, partner, build_packet) -> None:
    p = build_packet()
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = await client.post("/api/v1/packets", json=p, headers={**partner, **key})
    again = await client.post("/api/v1/packets", json=p, headers={**partner, **key})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["packet_id"] == again.json()["packet_id"]
    p["diagnosis_codes"] = ["N39.42"]
    changed = await client.post("/api/v1/packets", json=p, headers={**partner, **key})
    assert changed.status_code == 422


async def test_documents_can_be_added_later_with_their_hash(client, partner, build_packet, pdf_bytes) -> None:
    import hashlib

    pid = (await client.post("/api/v1/packets", json=build_packet(), headers=partner)).json()["packet_id"]
    r = await client.post(
        f"/api/v1/packets/{pid}/documents",
        headers=partner,
        files={"file": ("later.pdf", pdf_bytes, "application/pdf")},
        data={"category": "order"},
    )
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["sha256"] == hashlib.sha256(pdf_bytes).hexdigest()
    assert (doc["content_type"], doc["category"], doc["size"]) == ("application/pdf", "order", len(pdf_bytes))


async def test_credentials_are_required_and_checked(client, partner) -> None:
    assert (await client.get("/api/v1/packets")).status_code == 401
    assert (await client.get("/api/v1/packets", headers={"Authorization": "Bearer nonsense"})).status_code == 401
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": partner["client_id"], "client_secret": "wrong"},
    )
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"


async def test_an_api_key_works_like_a_token(client, partner, ctx) -> None:
    async with ctx.sessions() as session, session.begin():
        key = await add_api_key(session, partner["client_id"], "test key")
    r = await client.get("/api/v1/packets?limit=1", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200


async def test_a_partner_over_its_rate_limit_gets_429_with_retry_after(client, new_partner) -> None:
    slow = await new_partner(rate=6)
    statuses = [(await client.get("/api/v1/packets?limit=1", headers=slow)) for _ in range(3)]
    limited = [r for r in statuses if r.status_code == 429]
    assert limited, [r.status_code for r in statuses]
    assert int(limited[0].headers["retry-after"]) >= 1
    assert limited[0].headers["content-type"] == "application/problem+json"


async def test_webhooks_are_registered_listed_and_removed(client, partner) -> None:
    r = await client.post(
        "/api/v1/webhooks",
        headers=partner,
        json={"url": "https://partner.example/hooks", "events": ["packet.transitioned"]},
    )
    assert r.status_code == 201, r.text
    hook = r.json()
    assert hook["secret"].startswith("whsec_")
    listed = (await client.get("/api/v1/webhooks", headers=partner)).json()["items"]
    assert hook["webhook_id"] in [h["webhook_id"] for h in listed]
    assert (await client.delete(f"/api/v1/webhooks/{hook['webhook_id']}", headers=partner)).status_code == 204
    assert (await client.get(f"/api/v1/webhooks/{hook['webhook_id']}", headers=partner)).status_code == 404
    bad = await client.post("/api/v1/webhooks", headers=partner, json={"url": "ftp://x", "events": ["nope"]})
    assert bad.status_code == 422


async def test_a_webhook_to_our_own_network_is_refused(client, partner) -> None:
    for url in ("http://10.1.2.3/hook", "http://127.0.0.1:9/hook", "http://169.254.169.254/latest", "http://[::1]/x"):
        r = await client.post("/api/v1/webhooks", headers=partner, json={"url": url, "events": ["packet.reclassified"]})
        assert r.status_code == 422, (url, r.text)
        assert r.json()["errors"][0]["field"] == "url"
    assert (await client.get("/api/v1/webhooks", headers=partner)).json()["items"] == []


async def test_the_list_pages_with_a_cursor(client, new_partner, build_packet) -> None:
    mine = await new_partner()
    ids = [
        (await client.post("/api/v1/packets", json=build_packet(), headers=mine)).json()["packet_id"] for _ in range(3)
    ]
    seen: list[str] = []
    url = "/api/v1/packets?limit=2"
    while url:
        page = (await client.get(url, headers=mine)).json()
        seen += [i["packet_id"] for i in page["items"]]
        url = f"/api/v1/packets?limit=2&cursor={page['next_cursor']}" if page["next_cursor"] else ""
    assert seen == list(reversed(ids))


async def test_the_openapi_document_is_served(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert "/api/v1/packets" in spec["paths"] and "/oauth/token" in spec["paths"]


async def test_webhook_urls_inside_our_network_are_refused_and_secrets_are_stored_encrypted(
    ctx: Any, client: httpx.AsyncClient, partner: dict[str, str]
) -> None:
    from sqlalchemy import text

    from wiser_intake.domain.webhook_urls import parse
    from wiser_intake.usecases import webhook_views

    for url in (
        "https://10.1.2.3/hook",
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::ffff:169.254.169.254]/x",
        "https://192.168.0.10/x",
        "https://100.100.100.200/x",
        "https://localhost/hook",
        "https://metadata.google.internal/computeMetadata",
        "https://printer.local/x",
        "https://127.0.0.1:8010/not-on-the-allow-list",
    ):
        r = await client.post("/api/v1/webhooks", headers=partner, json={"url": url, "events": ["packet.determined"]})
        assert r.status_code == 422, (url, r.text)
        assert r.json()["errors"][0]["code"] == "ADDRESS_NOT_ALLOWED", url
    nul = await client.post(
        "/api/v1/webhooks", headers=partner, json={"url": "https://x.example/\x00", "events": ["packet.determined"]}
    )
    assert nul.status_code == 422
    # The dev/test allow-list (the sandbox's receiver) and public hosts pass; http only in dev and test.
    ok = await client.post(
        "/api/v1/webhooks", headers=partner, json={"url": "http://127.0.0.1:8009/hook", "events": ["letter.available"]}
    )
    assert ok.status_code == 201, ok.text
    again = await client.post(
        "/api/v1/webhooks", headers=partner, json={"url": "http://127.0.0.1:8009/hook", "events": ["letter.available"]}
    )
    assert again.status_code == 409
    secret = ok.json()["secret"]
    async with ctx.sessions() as session:
        stored = await session.scalar(
            text("SELECT secret FROM intake.webhooks WHERE id = :id"), {"id": ok.json()["webhook_id"]}
        )
    assert secret not in stored and stored.startswith("gAAAA")  # a Fernet token
    assert await webhook_views.signing_secret(ctx, uuid.UUID(ok.json()["webhook_id"])) == secret
    from wiser_intake.domain.webhook_urls import WebhookUrlRefused

    try:
        parse("http://partner.example/hook", dev=False)
        raise AssertionError("http outside dev")
    except WebhookUrlRefused as e:
        assert e.code == "HTTPS_REQUIRED"


async def test_no_pooled_connection_is_held_while_a_document_goes_to_s3(
    ctx: Any, client: httpx.AsyncClient, partner: dict[str, str], build_packet: Any, settings: Any
) -> None:
    import asyncio

    import asyncpg

    pool = ctx.sessions.kw["bind"].sync_engine.pool
    real_put = ctx.store.put
    seen: list[tuple[int, bool]] = []
    dsn = settings.database_url.replace("postgresql+asyncpg", "postgresql")

    async def watched_put(key: str, *args: Any, **kwargs: Any) -> None:
        # The bus's own tasks borrow connections for a moment now and then: the least seen over 100 ms is what
        # this request holds through its transfer.
        checked_out = []
        for _ in range(5):
            checked_out.append(pool.checkedout())
            await asyncio.sleep(0.02)
        other = await asyncpg.connect(dsn)
        try:  # and nobody holds the packet's row while its document travels
            async with other.transaction():
                await other.fetch(
                    f"SELECT id FROM {settings.db_schema}.packets WHERE id = $1 FOR UPDATE NOWAIT",
                    uuid.UUID(key.split("/")[1]),
                )
            free = True
        except asyncpg.LockNotAvailableError:
            free = False
        finally:
            await other.close()
        seen.append((min(checked_out), free))
        await real_put(key, *args, **kwargs)

    ctx.store.put = watched_put
    try:
        r = await client.post(
            "/api/v1/packets",
            data={"packet": json.dumps(build_packet())},
            files=[("documents", ("a.pdf", b"%PDF-1.4\n" + b"0" * (3 * 2**20), "application/pdf"))],
            headers=partner,
        )
        assert r.status_code == 201, r.text
        pid = r.json()["packet_id"]
        more = await client.post(
            f"/api/v1/packets/{pid}/documents",
            files={"file": ("b.pdf", b"%PDF-1.4\nmore", "application/pdf")},
            headers=partner,
        )
        assert more.status_code == 201, more.text
    finally:
        ctx.store.put = real_put
    assert seen == [(0, True), (0, True)]


async def test_every_route_documents_its_response_body_and_statuses(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert not any(p.startswith("/api/v1/ops") for p in spec["paths"])  # the ops API has its own document
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            codes = set(op["responses"])
            assert {"401", "413"} <= codes or path == "/oauth/token", (method, path, codes)
            assert "429" in codes, (method, path)
            ok = next(c for c in codes if c.startswith("2"))
            if ok != "204":
                content = op["responses"][ok].get("content", {})
                typed = any(v.get("schema", {}).get("$ref") for v in content.values())
                assert typed or "application/pdf" in content, (method, path, ok)
            for code in codes - {ok, "200", "201", "204"}:
                assert "application/problem+json" in op["responses"][code]["content"], (method, path, code)
    ops = (await client.get("/api/v1/ops/openapi.json")).json()
    assert ops["paths"] and all(p.startswith("/api/v1/ops") for p in ops["paths"])


async def test_oauth_token_locks_a_client_out_from_one_address_only_and_answers_alike(
    infra: Any, settings: Any, ctx: Any
) -> None:
    from wiser_intake.bootstrap import create_app

    from ..conftest import intake_settings

    app = create_app(
        intake_settings(
            infra,
            trusted_proxies="127.0.0.1",
            token_lock_after=3,
            token_per_address_per_minute=60,
            token_failures_per_address_per_minute=1000,  # the address's failure budget: the next test
        )
    )
    client_id, secret = f"partner-{uuid.uuid4().hex[:8]}", "s3cret-" + uuid.uuid4().hex
    async with ctx.sessions() as session, session.begin():
        await upsert_partner(session, client_id, "Lockout partner", secret, 6000)

    def form(cid: str, sec: str) -> dict[str, str]:
        return {"grant_type": "client_credentials", "client_id": cid, "client_secret": sec}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as c:
        attacker = {"X-Forwarded-For": "203.0.113.66"}
        answers = []
        for cid in (client_id, "no-such-client"):
            for _ in range(3):
                r = await c.post("/oauth/token", data=form(cid, "wrong"), headers=attacker)
                answers.append((r.status_code, r.json()["detail"]))
            locked = await c.post("/oauth/token", data=form(cid, secret), headers=attacker)
            answers.append((locked.status_code, locked.json()["code"]))
            assert int(locked.headers["Retry-After"]) > 60, (answers, locked.json())
        # Unknown and known client ids get the same answers, lockout included.
        assert answers[:4] == answers[4:]
        assert answers[0][0] == 401 and answers[3] == (429, "RATE_LIMITED")
        # The partner, from its own address, is not locked out.
        ok = await c.post("/oauth/token", data=form(client_id, secret), headers={"X-Forwarded-For": "198.51.100.20"})
        assert ok.status_code == 200, ok.text
        # Past the address's budget: 429 before any hash is computed.
        flood = [
            (await c.post("/oauth/token", data=form(f"x{i}", "y"), headers={"X-Forwarded-For": "192.0.2.99"}))
            for i in range(30)
        ]
        # A burst of ten seconds' worth (10), then one a second.
        assert {r.status_code for r in flood[:10]} == {401} and {r.status_code for r in flood[-4:]} == {429}
    await app.state.intake.sessions.kw["bind"].dispose()


async def test_oauth_token_guesses_across_many_client_ids_from_one_address_cost_a_few_hashes(
    infra: Any, settings: Any, ctx: Any
) -> None:
    from wiser_intake.bootstrap import create_app

    from ..conftest import intake_settings

    app = create_app(intake_settings(infra, trusted_proxies="127.0.0.1", token_failures_per_address_per_minute=6))
    client_id, secret = f"partner-{uuid.uuid4().hex[:8]}", "s3cret-" + uuid.uuid4().hex
    async with ctx.sessions() as session, session.begin():
        await upsert_partner(session, client_id, "Guessing target", secret, 6000)

    def form(cid: str, sec: str) -> dict[str, str]:
        return {"grant_type": "client_credentials", "client_id": cid, "client_secret": sec}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as c:
        guesser = {"X-Forwarded-For": "192.0.2.77"}
        answers = [
            (await c.post("/oauth/token", data=form(f"guess-{i}", "wrong"), headers=guesser)).status_code
            for i in range(12)
        ]
        # A minute's worth of the address's failure budget is hashed (and answered 401), then 429 for any name.
        assert answers == [401] * 6 + [429] * 6
        refused = await c.post("/oauth/token", data=form(client_id, secret), headers=guesser)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        # The partner from its own address is not held back by someone else's guessing.
        ok = await c.post("/oauth/token", data=form(client_id, secret), headers={"X-Forwarded-For": "198.51.100.21"})
        assert ok.status_code == 200, ok.text
    await app.state.intake.sessions.kw["bind"].dispose()
