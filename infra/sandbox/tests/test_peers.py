"""NPPES, PECOS, the MAC UTN service and health, against the fixtures."""

import re
from datetime import UTC, datetime

import httpx
import pytest

from wiser_sandbox.peers import utn

UTN = re.compile(r"^[A-Z0-9]{2}[AH][0-9]{11}$")


async def nppes(client: httpx.AsyncClient, **params) -> dict:
    r = await client.get("/nppes/api/", params=params)
    assert r.status_code == 200
    return r.json()


async def test_nppes_active_practitioner(client: httpx.AsyncClient) -> None:
    body = await nppes(client, version="2.1", number="1151056334")
    assert body["result_count"] == 1
    (result,) = body["results"]
    assert result["number"] == "1151056334" and result["enumeration_type"] == "NPI-1"
    assert result["basic"] == {"first_name": "URSULA", "last_name": "BRIGHTWATER", "credential": "MD", "status": "A"}
    assert result["addresses"][0]["state"] == "NJ" and result["addresses"][0]["address_purpose"] == "LOCATION"
    assert result["taxonomies"][0]["primary"] is True


async def test_nppes_facility(client: httpx.AsyncClient) -> None:
    (result,) = (await nppes(client, version="2.1", number="1223236740"))["results"]
    assert result["enumeration_type"] == "NPI-2"
    assert result["basic"] == {"organization_name": "NEWARK GENERAL HOSPITAL", "status": "A"}


async def test_nppes_deactivated(client: httpx.AsyncClient) -> None:
    (result,) = (await nppes(client, version="2.1", number="1946407024"))["results"]
    assert result["basic"]["status"] == "D" and result["basic"]["deactivation_date"] == "2025-01-01"


async def test_nppes_unknown(client: httpx.AsyncClient) -> None:
    assert await nppes(client, version="2.1", number="1234567893") == {"result_count": 0, "results": []}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"number": "1151056334"}, "version"),
        ({"version": "2.0", "number": "1151056334"}, "version"),
        ({"version": "2.1"}, "generic"),
        ({"version": "2.1", "number": "11510"}, "number"),
    ],
)
async def test_nppes_errors(client: httpx.AsyncClient, params: dict, field: str) -> None:
    (error,) = (await nppes(client, **params))["Errors"]
    assert error["field"] == field and error["description"] and error["number"]


async def test_pecos_enrolled_practitioner(client: httpx.AsyncClient) -> None:
    r = await client.get("/pecos/enrollments/1151056334")
    assert r.status_code == 200
    body = r.json()
    assert body["npi"] == "1151056334" and body["enrolled"] is True and body["status"] == "APPROVED"
    assert (body["provider_type"], body["state"], body["ptan"]) == ("MD", "NJ", "NJ100000")


async def test_pecos_not_enrolled(client: httpx.AsyncClient) -> None:
    body = (await client.get("/pecos/enrollments/1228888867")).json()
    assert body["enrolled"] is False and body["status"] == "NOT_ENROLLED" and body["ptan"] is None


async def test_pecos_facility_and_unknown(client: httpx.AsyncClient) -> None:
    body = (await client.get("/pecos/enrollments/1847884032")).json()
    assert body["enrolled"] is True and body["provider_type"] == "AMBULATORY SURGICAL CENTER" and body["state"] == "OH"
    r = await client.get("/pecos/enrollments/1234567893")
    assert r.status_code == 404 and "detail" in r.json()


@pytest.mark.parametrize(
    ("state", "prefix"), [("NJ", "JL"), ("OH", "15"), ("OK", "JH"), ("TX", "JH"), ("AZ", "JF"), ("WA", "JF")]
)
async def test_utn_format(client: httpx.AsyncClient, state: str, prefix: str) -> None:
    r = await client.post("/mac/utn", json={"packet_id": f"pkt-{state}", "state": state, "outcome": "affirmed"})
    assert r.status_code == 200
    value = r.json()["utn"]
    assert UTN.match(value) and len(value) == 14
    assert value.startswith(f"{prefix}A{datetime.now(UTC).year % 100:02d}")


async def test_utn_is_idempotent_per_packet(client: httpx.AsyncClient) -> None:
    first = (await client.post("/mac/utn", json={"packet_id": "p1", "state": "NJ", "outcome": "affirmed"})).json()
    again = (await client.post("/mac/utn", json={"packet_id": "p1", "state": "NJ", "outcome": "non_affirmed"})).json()
    other = (await client.post("/mac/utn", json={"packet_id": "p2", "state": "NJ", "outcome": "affirmed"})).json()
    assert first == again and first != other
    assert utn("p1", "NJ", 2026) == utn("p1", "NJ", 2026) != utn("p2", "NJ", 2026)


async def test_utn_refuses_a_state_outside_wiser(client: httpx.AsyncClient) -> None:
    r = await client.post("/mac/utn", json={"packet_id": "p3", "state": "NY", "outcome": "affirmed"})
    assert r.status_code == 422
    r = await client.post("/mac/utn", json={"packet_id": "p3"})
    assert r.status_code == 422


async def test_health(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    ready = (await client.get("/health/ready")).json()
    assert ready["status"] == "ok" and ready["beneficiaries"] == 20 and ready["providers"] > 0
