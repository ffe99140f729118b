"""HETS's AAA answers read per DOMAIN.md's table: the pure meaning of each code, what the checks make of it,
and the real HETS client (X12 270 over HTTP) against the sandbox HETS peer, which answers as HETS does."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import date, timedelta

import httpx
import pytest

from wiser_sandbox.app import create_app
from wiser_validation.adapters.peers import HetsClient, PeerUnavailable, Resilience, to_eligibility
from wiser_validation.domain import AaaMeaning, Eligibility, PacketFacts, aaa_meaning, aaa_meanings
from wiser_validation.domain import checks as c
from wiser_x12 import AAARejection, Benefit, EligibilityResponse, parse_270

Facts = Callable[..., PacketFacts]
TODAY = date.today()
DOS = TODAY + timedelta(days=30)


# ------------------------------------------------------------------ the table, pure


@pytest.mark.parametrize(
    ("loop", "code", "meaning"),
    [
        ("2100C", "72", AaaMeaning.NOT_FOUND),
        ("2100C", "75", AaaMeaning.NOT_FOUND),
        ("2100C", "67", AaaMeaning.NOT_FOUND),
        ("2100C", "73", AaaMeaning.NAME_MISMATCH),
        ("2100C", "65", AaaMeaning.NAME_MISMATCH),
        ("2100C", "71", AaaMeaning.DOB_MISMATCH),
        ("2100C", "58", AaaMeaning.DOB_MISMATCH),
        ("2100C", "60", AaaMeaning.DOB_MISMATCH),
        ("2100C", "56", AaaMeaning.DATE_OUTSIDE),
        ("2100C", "57", AaaMeaning.DATE_OUTSIDE),
        ("2100C", "62", AaaMeaning.DATE_OUTSIDE),
        ("2100C", "63", AaaMeaning.DATE_OUTSIDE),
        ("2000A", "42", AaaMeaning.BUSY),
        ("2100C", "42", AaaMeaning.BUSY),
        ("2100B", "80", AaaMeaning.BUSY),
        ("2000A", "79", AaaMeaning.SUBMITTER),
        ("2100A", "T4", AaaMeaning.SUBMITTER),
        ("2100B", "41", AaaMeaning.SUBMITTER),
        ("2100B", "43", AaaMeaning.SUBMITTER),
        ("2100B", "72", AaaMeaning.SUBMITTER),  # a subscriber code outside the subscriber loop is not the beneficiary's
        ("2100C", "15", AaaMeaning.SUBMITTER),  # a code the table does not list: a person and ops look at it
    ],
)
def test_each_aaa_of_the_table_has_its_meaning(loop: str, code: str, meaning: AaaMeaning) -> None:
    assert aaa_meaning(loop, code) is meaning


def test_the_deciding_meaning_comes_first() -> None:
    assert aaa_meanings([("2100C", "71"), ("2100C", "73")]) == [AaaMeaning.NAME_MISMATCH, AaaMeaning.DOB_MISMATCH]
    assert aaa_meanings([("2100C", "73"), ("2100C", "75")])[0] is AaaMeaning.NOT_FOUND
    assert aaa_meanings([("2100B", "43"), ("2000A", "42")])[0] is AaaMeaning.BUSY
    assert aaa_meanings([]) == []


# ----------------------------------------------------------- reading a 271


def rejected(*aaa: tuple[str, str]) -> EligibilityResponse:
    rejections = tuple(AAARejection(loop, "N", code, "C") for loop, code in aaa)
    return EligibilityResponse("T", "9J06YC0QA26", None, None, None, None, None, rejections=rejections)


@pytest.mark.parametrize(
    ("aaa", "status", "name", "dob"),
    [
        ((("2100C", "75"),), "not_found", False, False),
        ((("2100C", "72"),), "not_found", False, False),
        ((("2100C", "73"),), "mismatch", True, False),
        ((("2100C", "71"),), "mismatch", False, True),
        ((("2100C", "73"), ("2100C", "71")), "mismatch", True, True),
    ],
)
def test_a_271_rejection_becomes_the_eligibility_answer(aaa: tuple, status: str, name: bool, dob: bool) -> None:
    answer = to_eligibility(rejected(*aaa), [DOS])
    assert (answer.status, answer.name_mismatch, answer.dob_mismatch) == (status, name, dob)
    assert answer.first_name is None and answer.last_name is None


@pytest.mark.parametrize("aaa", [("2000A", "79"), ("2100A", "T4"), ("2100B", "43"), ("2100C", "15")])
def test_a_submitter_rejection_is_unavailable_with_an_ops_alert(aaa: tuple[str, str], caplog) -> None:
    answer = to_eligibility(rejected(aaa), [DOS])
    assert answer == Eligibility(status="unavailable", submitter_problem=True)
    alert = [r for r in caplog.records if getattr(r, "alert", False)]
    assert alert and f"{aaa[0]}:{aaa[1]}" in alert[0].aaa


def test_part_b_must_be_in_effect_on_every_date_of_service() -> None:
    ends = date(2026, 6, 30)
    response = EligibilityResponse(
        "T", "9J06YC0QA26", "AVERY", "QUILLON", date(1948, 12, 10), "F", None,
        benefits=(
            Benefit("1", None, ("30",), "MA", None, {"307": (date(2013, 1, 1), None)}),
            Benefit("1", None, ("30",), "MB", None, {"307": (date(2013, 1, 1), ends)}),
        ),
    )  # fmt: skip
    assert to_eligibility(response, [date(2026, 6, 1)]).part_b_active_on_dos
    assert not to_eligibility(response, [date(2026, 6, 1), date(2026, 7, 15)]).part_b_active_on_dos


# ------------------------------------------------------------- what the checks make of it


def test_a_name_mismatch_from_hets_needs_correction_of_the_name(facts: Facts) -> None:
    findings = c.check_beneficiary(facts(), Eligibility(status="mismatch", name_mismatch=True))
    assert [(f.code, f.severity, f.field) for f in findings] == [
        ("BENEFICIARY_MISMATCH", "correction", "beneficiary.first_name"),
        ("BENEFICIARY_MISMATCH", "correction", "beneficiary.last_name"),
    ]
    coverage = c.check_medicare_coverage(facts(), Eligibility(status="mismatch", name_mismatch=True))
    assert [(f.code, f.severity) for f in coverage] == [("NOT_ORIGINAL_MEDICARE", "skipped")]


def test_a_dob_mismatch_from_hets_needs_correction_of_the_dob(facts: Facts) -> None:
    findings = c.check_beneficiary(facts(), Eligibility(status="mismatch", dob_mismatch=True))
    assert [(f.code, f.field) for f in findings] == [("BENEFICIARY_MISMATCH", "beneficiary.date_of_birth")]


def test_a_submitter_problem_is_peer_unavailable_never_the_beneficiarys_fault(facts: Facts) -> None:
    answer = Eligibility(status="unavailable", submitter_problem=True)
    for check in (c.check_beneficiary, c.check_medicare_coverage):
        (finding,) = check(facts(), answer)
        assert (finding.code, finding.severity) == ("PEER_UNAVAILABLE", "correction")
        assert "submitter" in finding.message


def test_coverage_read_for_todays_date_says_so(facts: Facts, eligible: Eligibility) -> None:
    findings = c.check_medicare_coverage(facts(), replace(eligible, asked_for=date(2026, 5, 1)))
    assert [(f.code, f.severity) for f in findings] == [("ELIGIBILITY_DATE_SUBSTITUTED", "info")]
    assert "2026-05-01" in findings[0].message


# ------------------------------------------------------------- the client against the sandbox HETS


class Recorder(httpx.AsyncBaseTransport):
    """The sandbox app behind an ASGI transport, keeping every 270 sent."""

    def __init__(self) -> None:
        self.inner = httpx.ASGITransport(app=create_app())
        self.sent: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/hets/270":
            self.sent.append((await request.aread()).decode())
        return await self.inner.handle_async_request(request)


@pytest.fixture
async def sandbox() -> AsyncIterator[tuple[HetsClient, Recorder, httpx.AsyncClient]]:
    transport = Recorder()
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        client = HetsClient(
            "http://sandbox/hets/270", "WISERREVIEW", "CMS", http, Resilience(timeout=5, attempts=2, backoff=0.001)
        )
        yield client, transport, http


def packet(facts: Facts, *dates: date, **beneficiary: str) -> PacketFacts:
    base = facts(services=[{"code": "64581", "units": 1, "date_of_service": d.isoformat()} for d in dates or (DOS,)])
    return replace(base, beneficiary=replace(base.beneficiary, **beneficiary))


async def test_a_clean_beneficiary_is_found_and_the_receiver_is_this_organisation(facts: Facts, sandbox) -> None:
    client, transport, _ = sandbox
    answer = await client.eligibility(packet(facts), TODAY)
    assert (answer.status, answer.part_b_active_on_dos, answer.last_name) == ("found", True, "QUILLON")
    inquiry, _ = parse_270(transport.sent[0])
    assert (inquiry.provider_name, inquiry.provider_npi) == ("WISER REVIEW ORGANISATION", "1234567893")
    assert "BRIGHTWATER" not in transport.sent[0] and "1151056334" not in transport.sent[0]


async def test_every_date_of_service_is_asked_as_their_span(facts: Facts, sandbox) -> None:
    client, transport, _ = sandbox
    later = DOS + timedelta(days=20)
    answer = await client.eligibility(packet(facts, later, DOS), TODAY)
    assert answer.status == "found"
    inquiry, _ = parse_270(transport.sent[0])
    assert (inquiry.date_of_service, inquiry.date_of_service_end) == (DOS, later)


async def test_a_first_name_not_on_file_is_a_mismatch_without_the_name_on_file(facts: Facts, sandbox) -> None:
    client, _, _ = sandbox
    answer = await client.eligibility(packet(facts, first_name="Ava"), TODAY)
    assert (answer.status, answer.name_mismatch, answer.dob_mismatch) == ("mismatch", True, False)
    assert answer.first_name is None


async def test_a_dob_not_on_file_is_a_mismatch(facts: Facts, sandbox) -> None:
    client, _, _ = sandbox
    base = packet(facts)
    wrong = replace(base, beneficiary=replace(base.beneficiary, date_of_birth=date(1950, 1, 1)))
    answer = await client.eligibility(wrong, TODAY)
    assert (answer.status, answer.dob_mismatch) == ("mismatch", True)


@pytest.mark.parametrize("mbi", ["1EG4TE5MK73", "4QX9YC6XV92"])
async def test_an_unknown_mbi_is_not_found(facts: Facts, sandbox, mbi: str) -> None:
    client, _, _ = sandbox
    assert (await client.eligibility(packet(facts, mbi=mbi), TODAY)).status == "not_found"


async def test_a_star_in_the_last_name_is_removed_from_the_270_and_never_crashes(facts: Facts, sandbox) -> None:
    client, transport, _ = sandbox
    odd = packet(facts, last_name="Quil*lon", first_name="Av~er:y^")
    answer = await client.eligibility(odd, TODAY)
    assert answer.status == "found"  # HETS matched the cleaned name
    assert "NM1*IL*1*QUILLON*AVERY****MI*9J06YC0QA26~" in transport.sent[0]
    # The packet's own name still differs from the one on file: a person corrects it (manual review).
    assert {f.field for f in c.check_beneficiary(odd, answer)} == {"beneficiary.first_name", "beneficiary.last_name"}


@pytest.mark.parametrize("last_name", ["***", "~^:", "Quillon" + "x" * 190, "Qüíllön\u200b\n"])
async def test_any_last_name_gets_an_answer_never_an_exception(facts: Facts, sandbox, last_name: str) -> None:
    client, transport, _ = sandbox
    answer = await client.eligibility(packet(facts, last_name=last_name), TODAY)
    assert answer.status in ("found", "mismatch")
    (segment,) = [s for s in transport.sent[0].split("~") if s.startswith("NM1*IL")]
    assert len(segment.split("*")[3]) <= 60 and segment.isascii()


async def test_dates_hets_will_not_answer_for_are_asked_again_for_today(facts: Facts, sandbox) -> None:
    client, transport, _ = sandbox
    far = TODAY + timedelta(days=300)
    answer = await client.eligibility(packet(facts, far), TODAY)
    assert (answer.status, answer.asked_for, answer.part_b_active_on_dos) == ("found", TODAY, True)
    first, second = (parse_270(t)[0] for t in transport.sent)
    assert first.date_of_service == far and (second.date_of_service, second.date_of_service_end) == (TODAY, None)


@pytest.mark.parametrize(("loop", "code"), [("2000A", "79"), ("2100A", "T4"), ("2100B", "41")])
async def test_a_source_level_rejection_is_unavailable_with_an_ops_alert(
    facts: Facts, sandbox, loop: str, code: str
) -> None:
    client, _, http = sandbox
    r = await http.post("/_sandbox/faults", json={"peer": "hets", "mode": "reject", "aaa_loop": loop, "aaa_code": code})
    assert r.status_code == 200
    assert await client.eligibility(packet(facts), TODAY) == Eligibility(status="unavailable", submitter_problem=True)


async def test_hets_busy_is_retried_then_answers(facts: Facts, sandbox) -> None:
    client, transport, http = sandbox
    await http.post("/_sandbox/faults", json={"peer": "hets", "mode": "error", "count": 1})
    assert (await client.eligibility(packet(facts), TODAY)).status == "found"
    assert len(transport.sent) == 2


async def test_hets_busy_beyond_the_retries_is_unavailable(facts: Facts, sandbox) -> None:
    client, _, http = sandbox
    await http.post("/_sandbox/faults", json={"peer": "hets", "mode": "error"})
    with pytest.raises(PeerUnavailable):
        await client.eligibility(packet(facts), TODAY)
