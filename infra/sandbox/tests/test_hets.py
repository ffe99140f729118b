"""HETS: every fixture status through a real 270 -> 271 exchange."""

import json
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import httpx
import pytest

from wiser_sandbox.fixtures import DEFAULT_FIXTURES_DIR
from wiser_x12 import (
    AAARejection,
    EligibilityInquiry,
    Envelope,
    build_270,
    medicaid,
    medicare_advantage,
    parse_271,
    part_in_effect,
    railroad,
)

BENEFICIARIES = {
    b["mbi"]: b for b in json.loads((DEFAULT_FIXTURES_DIR / "beneficiaries.json").read_text())["beneficiaries"]
}
ON = date(2026, 5, 1)
ENVELOPE = Envelope("WISERPA", "CMS", 17, 17, "0042", datetime(2026, 4, 24, 9, 30), "T")


def inquiry_for(mbi: str, **changes) -> EligibilityInquiry:
    b = BENEFICIARIES.get(mbi, BENEFICIARIES["9J06YC0QA26"])
    base = EligibilityInquiry(
        trace_number=f"TRACE-{mbi}",
        payer_id="CMS",
        provider_npi="1151056334",
        provider_name="BRIGHTWATER, URSULA",
        mbi=mbi,
        first_name=b["first_name"].upper(),
        last_name=b["last_name"].upper(),
        date_of_birth=date.fromisoformat(b["date_of_birth"]),
        gender=b["gender"],
        date_of_service=ON,
    )
    return replace(base, **changes)


async def ask(client: httpx.AsyncClient, inquiry: EligibilityInquiry):
    r = await client.post(
        "/hets/270", content=build_270(inquiry, ENVELOPE), headers={"content-type": "application/EDI-X12"}
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/EDI-X12")
    assert r.text.startswith("ISA*00*          *00*          *ZZ*CMS            *ZZ*WISERPA        *")
    return parse_271(r.text)


def statuses(status: str) -> list[str]:
    return [mbi for mbi, b in BENEFICIARIES.items() if b["status"] == status]


def test_default_fixtures_dir_is_beside_the_repo() -> None:
    assert DEFAULT_FIXTURES_DIR == Path(__file__).resolve().parents[3].parent / "shared" / "fixtures"
    assert (DEFAULT_FIXTURES_DIR / "providers.json").is_file()


@pytest.mark.parametrize("mbi", statuses("eligible"))
async def test_eligible(client: httpx.AsyncClient, mbi: str) -> None:
    b = BENEFICIARIES[mbi]
    resp = await ask(client, inquiry_for(mbi))
    assert resp.trace_number == f"TRACE-{mbi}" and resp.mbi == mbi and not resp.rejections
    assert (resp.first_name, resp.last_name) == (b["first_name"].upper(), b["last_name"].upper())
    assert resp.date_of_birth == date.fromisoformat(b["date_of_birth"]) and resp.gender == b["gender"]
    assert part_in_effect(resp, "MA", ON) and part_in_effect(resp, "MB", ON)
    assert not part_in_effect(resp, "MA", date(2012, 12, 31))
    part_a = next(x for x in resp.benefits if x.insurance_type == "MA")
    assert part_a.dates == {"307": (date.fromisoformat(b["part_a_effective"]), None)}
    assert "30" in part_a.service_types and len(part_a.service_types) > 1
    assert medicare_advantage(resp, ON) is None and not railroad(resp) and not medicaid(resp)
    assert resp.date_of_death is None


async def test_part_a_only(client: httpx.AsyncClient) -> None:
    (mbi,) = statuses("part_a_only")
    resp = await ask(client, inquiry_for(mbi))
    assert part_in_effect(resp, "MA", ON) and not part_in_effect(resp, "MB", ON)
    assert [(x.info_code, x.insurance_type) for x in resp.benefits] == [("1", "MA"), ("6", "MB")]


@pytest.mark.parametrize("mbi", statuses("medicare_advantage"))
async def test_medicare_advantage(client: httpx.AsyncClient, mbi: str) -> None:
    resp = await ask(client, inquiry_for(mbi))
    assert part_in_effect(resp, "MA", ON) and part_in_effect(resp, "MB", ON)
    plan = medicare_advantage(resp, ON)
    assert plan is not None
    assert (plan.info_code, plan.insurance_type, plan.plan_id, plan.plan_name) == (
        "R",
        "HN",
        "H3154",
        "SYNTHETIC ADVANTAGE HMO",
    )
    assert plan.dates == {"290": (date(2025, 1, 1), None)}
    assert medicare_advantage(resp, date(2024, 12, 31)) is None


async def test_deceased(client: httpx.AsyncClient) -> None:
    (mbi,) = statuses("deceased")
    resp = await ask(client, inquiry_for(mbi))
    assert resp.date_of_death == date(2026, 3, 2)
    assert part_in_effect(resp, "MA", ON) and part_in_effect(resp, "MB", ON)


async def test_railroad(client: httpx.AsyncClient) -> None:
    (mbi,) = statuses("railroad")
    resp = await ask(client, inquiry_for(mbi))
    assert railroad(resp) and part_in_effect(resp, "MB", ON)
    assert {x.plan_description for x in resp.benefits} == {"RAILROAD MEDICARE"}


async def test_medicaid_only(client: httpx.AsyncClient) -> None:
    (mbi,) = statuses("medicaid_only")
    resp = await ask(client, inquiry_for(mbi))
    assert not part_in_effect(resp, "MA", ON) and not part_in_effect(resp, "MB", ON)
    assert medicaid(resp) and not resp.rejections


@pytest.mark.parametrize("mbi", [*statuses("not_found"), "1EG4TE5MK73"])
async def test_not_found(client: httpx.AsyncClient, mbi: str) -> None:
    resp = await ask(client, inquiry_for(mbi))
    assert resp.rejections == (AAARejection("2100C", "N", "75", "C"),)
    assert resp.mbi == mbi and resp.first_name is None and resp.date_of_birth is None and resp.benefits == ()


async def test_mismatched_name_and_dob_get_the_fixture_values(client: httpx.AsyncClient) -> None:
    resp = await ask(client, inquiry_for("9J06YC0QA26", first_name="AVA", date_of_birth=date(1950, 1, 1)))
    assert (resp.first_name, resp.last_name, resp.date_of_birth) == ("AVERY", "QUILLON", date(1948, 12, 10))
    assert not resp.rejections


async def test_interchange_control_numbers_advance(client: httpx.AsyncClient) -> None:
    first = await client.post("/hets/270", content=build_270(inquiry_for("9J06YC0QA26"), ENVELOPE))
    second = await client.post("/hets/270", content=build_270(inquiry_for("9J06YC0QA26"), ENVELOPE))
    assert first.text[90:99] == "000000001" and second.text[90:99] == "000000002"


@pytest.mark.parametrize(
    "body", ["", "not x12", build_270(inquiry_for("9J06YC0QA26"), ENVELOPE).replace("SE*13*", "SE*14*")]
)
async def test_malformed_270_is_400_plain_text(client: httpx.AsyncClient, body: str) -> None:
    r = await client.post("/hets/270", content=body, headers={"content-type": "text/plain"})
    assert r.status_code == 400 and r.text.startswith("999 R:")
