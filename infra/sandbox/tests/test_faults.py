"""Fault injection: down, slow, error; counts that run out; DELETE clearing; a real dropped connection."""

import asyncio
import socket
import time
from datetime import date, datetime

import httpx
import pytest
import uvicorn

from wiser_sandbox.app import create_app
from wiser_x12 import AAARejection, EligibilityInquiry, Envelope, build_270, parse_271

NPPES = "/nppes/api/?version=2.1&number=1151056334"
INQUIRY = EligibilityInquiry(
    "T1", "CMS", "1234567893", "WISER REVIEW ORGANISATION", "9J06YC0QA26", "AVERY", "QUILLON", date(1948, 12, 10),
    "F", date.today(),
)  # fmt: skip
X12_270 = build_270(INQUIRY, Envelope("WISERPA", "CMS", 1, 1, "0001", datetime(2026, 4, 24, 9, 30)))


async def call(client: httpx.AsyncClient, peer: str) -> httpx.Response:
    if peer == "hets":
        return await client.post("/hets/270", content=X12_270)
    if peer == "nppes":
        return await client.get(NPPES)
    if peer == "pecos":
        return await client.get("/pecos/enrollments/1151056334")
    return await client.post("/mac/utn", json={"packet_id": "p", "state": "NJ", "outcome": "affirmed"})


async def fault(client: httpx.AsyncClient, **body) -> dict:
    r = await client.post("/_sandbox/faults", json=body)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("peer", ["hets", "nppes", "pecos", "mac"])
async def test_down_with_count_then_recovers(client: httpx.AsyncClient, peer: str) -> None:
    await fault(client, peer=peer, mode="down", count=2)
    for _ in range(2):
        r = await call(client, peer)
        assert r.status_code == 503 and r.content == b"" and r.headers["connection"] == "close"
    assert (await call(client, peer)).status_code == 200
    assert (await client.get("/_sandbox/faults")).json() == {"faults": []}


async def test_fault_touches_only_its_peer_and_not_health(client: httpx.AsyncClient) -> None:
    await fault(client, peer="nppes", mode="down")
    assert (await call(client, "pecos")).status_code == 200
    assert (await client.get("/health/ready")).status_code == 200
    assert (await call(client, "nppes")).status_code == 503


async def test_count_decrements_and_delete_clears(client: httpx.AsyncClient) -> None:
    assert await fault(client, peer="pecos", mode="error", count=3) == {
        "peer": "pecos",
        "mode": "error",
        "remaining": 3,
        "delay_seconds": 5.0,
    }
    await fault(client, peer="mac", mode="down")
    assert (await call(client, "pecos")).status_code == 500
    listed = {f["peer"]: f for f in (await client.get("/_sandbox/faults")).json()["faults"]}
    assert listed["pecos"]["remaining"] == 2 and listed["mac"]["remaining"] is None
    assert (await client.delete("/_sandbox/faults")).json() == {"faults": []}
    assert (await client.get("/_sandbox/faults")).json() == {"faults": []}
    assert (await call(client, "pecos")).status_code == 200 and (await call(client, "mac")).status_code == 200


async def test_until_cleared_when_no_count(client: httpx.AsyncClient) -> None:
    await fault(client, peer="nppes", mode="error")
    for _ in range(5):
        r = await call(client, "nppes")
        assert r.status_code == 500 and r.json()["detail"] == "sandbox fault: nppes error"
    await client.delete("/_sandbox/faults")
    assert (await call(client, "nppes")).status_code == 200


async def test_slow_waits_then_answers(client: httpx.AsyncClient) -> None:
    await fault(client, peer="nppes", mode="slow", count=1, delay_seconds=0.3)
    started = time.monotonic()
    r = await call(client, "nppes")
    assert r.status_code == 200 and r.json()["result_count"] == 1
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    await call(client, "nppes")
    assert time.monotonic() - started < 0.3


async def test_hets_error_is_aaa_42(client: httpx.AsyncClient) -> None:
    await fault(client, peer="hets", mode="error", count=1)
    r = await call(client, "hets")
    assert r.status_code == 200 and "AAA*N**42*R~" in r.text
    resp = parse_271(r.text)
    assert resp.rejections == (AAARejection("2000A", "N", "42", "R"),) and resp.benefits == ()
    assert parse_271((await call(client, "hets")).text).benefits


@pytest.mark.parametrize(("loop", "code"), [("2000A", "79"), ("2100A", "T4"), ("2100B", "41")])
async def test_hets_reject_answers_a_source_level_aaa(client: httpx.AsyncClient, loop: str, code: str) -> None:
    shown = await fault(client, peer="hets", mode="reject", aaa_loop=loop, aaa_code=code, count=1)
    assert (shown["aaa_loop"], shown["aaa_code"]) == (loop, code)
    r = await call(client, "hets")
    assert r.status_code == 200
    resp = parse_271(r.text)
    assert resp.rejections == (AAARejection(loop, "N", code, "N"),)
    assert resp.benefits == () and resp.first_name is None and resp.date_of_birth is None
    assert parse_271((await call(client, "hets")).text).benefits  # the count ran out


async def test_reject_is_for_hets_only(client: httpx.AsyncClient) -> None:
    r = await client.post("/_sandbox/faults", json={"peer": "nppes", "mode": "reject"})
    assert r.status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {"peer": "telex", "mode": "down"},
        {"peer": "hets", "mode": "sideways"},
        {"peer": "hets", "mode": "down", "count": 0},
        {"peer": "hets", "mode": "slow", "delay_seconds": -1},
    ],
)
async def test_bad_fault_requests(client: httpx.AsyncClient, body: dict) -> None:
    assert (await client.post("/_sandbox/faults", json=body)).status_code == 422


async def test_down_drops_the_connection_when_served_by_uvicorn() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(drop_connections=True), log_config=None, lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            await fault(client, peer="nppes", mode="down", count=1)
            with pytest.raises(httpx.TransportError):
                await client.get(NPPES)
            assert (await client.get(NPPES)).status_code == 200
    finally:
        server.should_exit = True
        await task
        sock.close()
