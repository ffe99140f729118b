"""HETS: every fixture status through a real 270 -> 271 exchange."""

import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from wiser_sandbox.app import create_app
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
ON = date.today()  # inside HETS's inquiry window whenever the tests run
ORGANISATION = ("WISER REVIEW ORGANISATION", "1234567893")  # the registered information receiver (2100B)
ENVELOPE = Envelope("WISERPA", "CMS", 17, 17, "0042", datetime(2026, 4, 24, 9, 30), "T")


def inquiry_for(mbi: str, **changes) -> EligibilityInquiry:
    b = BENEFICIARIES.get(mbi, BENEFICIARIES["9J06YC0QA26"])
    base = EligibilityInquiry(
        trace_number=f"TRACE-{mbi}",
        payer_id="CMS",
        provider_npi=ORGANISATION[1],
        provider_name=ORGANISATION[0],
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


@pytest.mark.parametrize("mbi", ["9S06YC0QA26", "9J06YC0QA2", "9J06-YC0-QA26"])
async def test_a_malformed_mbi_is_aaa_72(client: httpx.AsyncClient, mbi: str) -> None:
    resp = await ask(client, inquiry_for(mbi))
    assert resp.rejections == (AAARejection("2100C", "N", "72", "C"),) and resp.benefits == ()


@pytest.mark.parametrize(
    ("changes", "codes"),
    [
        ({"first_name": "AVA"}, ["73"]),
        ({"last_name": "QUILLEN"}, ["73"]),
        ({"date_of_birth": date(1950, 1, 1)}, ["71"]),
        ({"first_name": "AVA", "date_of_birth": date(1950, 1, 1)}, ["73", "71"]),
    ],
)
async def test_a_name_or_dob_not_on_file_is_an_aaa_never_the_file_values(
    client: httpx.AsyncClient, changes: dict, codes: list[str]
) -> None:
    resp = await ask(client, inquiry_for("9J06YC0QA26", **changes))
    assert [(r.loop, r.reason_code) for r in resp.rejections] == [("2100C", c) for c in codes]
    assert (resp.first_name, resp.last_name, resp.date_of_birth, resp.benefits) == (None, None, None, ())
    assert "AVERY" not in str(resp) and "19481210" not in str(resp)


async def test_names_match_whatever_their_case_and_spacing(client: httpx.AsyncClient) -> None:
    resp = await ask(client, inquiry_for("9J06YC0QA26", first_name="avery", last_name="  Quillon "))
    assert not resp.rejections and resp.last_name == "QUILLON"


async def test_dates_outside_the_inquiry_window_are_aaa_63(client: httpx.AsyncClient) -> None:
    future = inquiry_for("9J06YC0QA26", date_of_service=ON, date_of_service_end=ON + timedelta(days=200))
    past = inquiry_for("9J06YC0QA26", date_of_service=ON - timedelta(days=400))
    for inquiry in (future, past):
        assert (await ask(client, inquiry)).rejections == (AAARejection("2100C", "N", "63", "C"),)
    span = inquiry_for("9J06YC0QA26", date_of_service=ON, date_of_service_end=ON + timedelta(days=60))
    assert part_in_effect(await ask(client, span), "MB", ON + timedelta(days=60))


async def test_a_practitioner_as_information_receiver_is_refused_in_2100b(client: httpx.AsyncClient) -> None:
    """The information receiver is the review organisation HETS has an agreement with, not the practitioner."""
    resp = await ask(client, inquiry_for("9J06YC0QA26", provider_npi="1151056334", provider_name="BRIGHTWATER, URSULA"))
    assert resp.rejections == (AAARejection("2100B", "N", "43", "N"),)
    assert resp.benefits == () and resp.first_name is None


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


async def test_the_registered_receivers_are_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WISER_SANDBOX_HETS_RECEIVER_NPIS", "1151056334")
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        assert (await ask(client, inquiry_for("9J06YC0QA26"))).rejections == (AAARejection("2100B", "N", "43", "N"),)
        practitioner = inquiry_for("9J06YC0QA26", provider_npi="1151056334", provider_name="BRIGHTWATER, URSULA")
        assert not (await ask(client, practitioner)).rejections


async def test_a_beneficiary_taught_to_the_sandbox_is_answered_like_a_fixture(client: httpx.AsyncClient) -> None:
    person = {"mbi": "5AC1D23EF45", "first_name": "Bench", "last_name": "Person", "date_of_birth": "1950-01-02",
              "gender": "F", "state": "OH", "part_a_effective": "2015-01-01",
              "part_b_effective": "2015-01-01"}  # fmt: skip
    unknown = await ask(client, inquiry_for(person["mbi"], first_name="BENCH", last_name="PERSON"))
    assert unknown.rejections  # not known yet
    r = await client.post("/_sandbox/beneficiaries", json={"beneficiaries": [person]})
    assert r.status_code == 200 and r.json()["added"] == 1
    inquiry = inquiry_for(person["mbi"], first_name="BENCH", last_name="PERSON", date_of_birth=date(1950, 1, 2))
    resp = await ask(client, inquiry)
    assert not resp.rejections and resp.mbi == person["mbi"] and part_in_effect(resp, "MB", ON)


async def test_a_shared_fixture_cannot_be_replaced_and_a_bad_mbi_is_refused(client: httpx.AsyncClient) -> None:
    fixture = dict(BENEFICIARIES["9J06YC0QA26"], status="deceased")
    fixture.pop("date_of_death", None)
    r = await client.post("/_sandbox/beneficiaries", json={"beneficiaries": [fixture]})
    assert r.status_code == 409
    bad = {"mbi": "1SS1SS1SS11", "first_name": "A", "last_name": "B", "date_of_birth": "1950-01-02", "state": "OH"}
    assert (await client.post("/_sandbox/beneficiaries", json={"beneficiaries": [bad]})).status_code == 422
    assert (await ask(client, inquiry_for("9J06YC0QA26"))).date_of_death is None
