"""HETS: answer an X12 270 with a 271 from the beneficiary fixtures (see the package docstring)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, timedelta

from wiser_x12 import (
    AAARejection,
    Benefit,
    EligibilityInquiry,
    EligibilityResponse,
    Envelope,
    build_271,
    parse_270,
)

from .fixtures import Fixtures, Record

# The service types HETS lists on its Part A and Part B active-coverage loops.
PART_A_SERVICES = ("30", "42", "45", "48", "49", "69", "76", "83", "A5", "A7", "AG", "BT", "BU", "BV")
PART_B_SERVICES = (
    "30", "2", "23", "24", "25", "26", "27", "28", "3", "33", "36", "37", "38", "39", "40", "42", "50", "51", "52",
    "53", "67", "69", "73", "76", "83", "86", "98", "A4", "A6", "A8", "AI", "AJ", "AK", "AL", "BT", "BU", "BV", "DM",
    "UC",
)  # fmt: skip
RAILROAD = "RAILROAD MEDICARE"
MA_PLAN_TYPE = "HN"  # HMO - Medicare risk


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _part(insurance_type: str, services: tuple[str, ...], effective: str | None, description: str | None) -> Benefit:
    start = _day(effective)
    if start is None:
        return Benefit("6", None, ("30",), insurance_type, None)
    return Benefit("1", None, services, insurance_type, description, {"307": (start, None)})


# The information receivers (2100B) HETS has a trading partner agreement with: the review organisation's NPI.
REGISTERED_RECEIVERS = frozenset({"1234567893"})
# How far from today HETS answers for a date of service (the sandbox's inquiry window).
WINDOW_PAST = timedelta(days=365)
WINDOW_FUTURE = timedelta(days=122)
MBI = re.compile(
    r"^[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9][AC-HJKMNP-RT-Y]{2}[0-9]{2}$"
)


def _same(given: str, on_file: str) -> bool:
    """HETS compares names without regard to case or repeated spaces."""
    return " ".join(given.split()).casefold() == " ".join(on_file.split()).casefold()


def _rejected(inquiry: EligibilityInquiry, *rejections: AAARejection) -> EligibilityResponse:
    """A 2100C rejection: the MBI echoed, nothing from the file (no name, DOB or benefits)."""
    return EligibilityResponse(
        trace_number=inquiry.trace_number,
        mbi=inquiry.mbi,
        first_name=None,
        last_name=None,
        date_of_birth=None,
        gender=None,
        date_of_death=None,
        rejections=rejections,
    )


def eligibility(
    inquiry: EligibilityInquiry,
    beneficiary: Record | None,
    *,
    today: date | None = None,
    receivers: frozenset[str] = REGISTERED_RECEIVERS,
) -> EligibilityResponse:
    """What HETS answers: AAA when the receiver, MBI, name, DOB or dates do not pass, else the file's data.

    - 2100B NPI not a registered information receiver: AAA 43 in 2100B (our set-up, not the beneficiary).
    - MBI not of the MBI pattern: 72; well formed but unknown (or a ``not_found`` fixture): 75.
    - Dates of service outside the inquiry window around ``today``: 63.
    - Name (first or last) not the one on file: 73; date of birth not the one on file: 71. Never the file's.
    """
    if inquiry.provider_npi not in receivers:
        return EligibilityResponse(
            inquiry.trace_number, inquiry.mbi, None, None, None, None, None,
            rejections=(AAARejection("2100B", "N", "43", "N"),),
        )  # fmt: skip
    if not MBI.fullmatch(inquiry.mbi):
        return _rejected(inquiry, AAARejection("2100C", "N", "72", "C"))
    if beneficiary is None or beneficiary["status"] == "not_found":
        return _rejected(inquiry, AAARejection("2100C", "N", "75", "C"))
    if today is not None:
        last = inquiry.date_of_service_end or inquiry.date_of_service
        if inquiry.date_of_service < today - WINDOW_PAST or last > today + WINDOW_FUTURE:
            return _rejected(inquiry, AAARejection("2100C", "N", "63", "C"))
    b = beneficiary
    mismatches = []
    if not (_same(inquiry.last_name, b["last_name"]) and _same(inquiry.first_name, b["first_name"])):
        mismatches.append(AAARejection("2100C", "N", "73", "C"))
    if inquiry.date_of_birth != date.fromisoformat(b["date_of_birth"]):
        mismatches.append(AAARejection("2100C", "N", "71", "C"))
    if mismatches:
        return _rejected(inquiry, *mismatches)
    description = RAILROAD if b.get("railroad") or b["status"] == "railroad" else None
    benefits = [
        _part("MA", PART_A_SERVICES, b.get("part_a_effective"), description),
        _part("MB", PART_B_SERVICES, b.get("part_b_effective"), description),
    ]
    if plan := b.get("ma_plan"):
        period: dict[str, tuple[date, date | None]] = {"290": (date.fromisoformat(plan["effective"]), None)}
        benefits.append(Benefit("R", None, ("30",), MA_PLAN_TYPE, None, period, plan["contract"], plan["name"].upper()))
    if b.get("medicaid"):
        benefits.append(Benefit("R", None, ("30",), "MC", "MEDICAID"))
    return EligibilityResponse(
        trace_number=inquiry.trace_number,
        mbi=b["mbi"],
        first_name=b["first_name"].upper(),
        last_name=b["last_name"].upper(),
        date_of_birth=date.fromisoformat(b["date_of_birth"]),
        gender=b.get("gender"),
        date_of_death=_day(b.get("date_of_death")),
        benefits=tuple(benefits),
    )


def source_rejection(loop: str, code: str) -> EligibilityResponse:
    """HETS refusing the interchange at the information source (2000A, 2100A): no subscriber data."""
    return EligibilityResponse(
        None, None, None, None, None, None, None, rejections=(AAARejection(loop, "N", code, "N"),)
    )


UNABLE_TO_RESPOND = EligibilityResponse(
    None, None, None, None, None, None, None, rejections=(AAARejection("2000A", "N", "42", "R"),)
)


def answer(
    text: str,
    fixtures: Fixtures,
    *,
    control: int,
    now: datetime,
    unable: bool = False,
    reject: tuple[str, str] | None = None,
    receivers: frozenset[str] = REGISTERED_RECEIVERS,
) -> str:
    """The 271 for a 270 (raises X12Error for a malformed 270); ``unable`` answers AAA 42 at 2000A; ``reject``
    (loop, code) answers that AAA at the information source (2000A/2100A) or receiver (2100B)."""
    inquiry, received = parse_270(text)
    envelope = Envelope(
        sender_id=received.receiver_id,
        receiver_id=received.sender_id,
        interchange_control=control,
        group_control=control,
        transaction_control=received.transaction_control,
        created=now.replace(second=0, microsecond=0, tzinfo=None),
        usage=received.usage,
    )
    if unable:
        response = UNABLE_TO_RESPOND
    elif reject is not None and reject[0] == "2100B":
        loop, code = reject
        response = replace(
            eligibility(inquiry, None, receivers=frozenset()), rejections=(AAARejection(loop, "N", code, "N"),)
        )
    elif reject is not None:
        response = source_rejection(*reject)
    else:
        found = fixtures.beneficiaries.get(inquiry.mbi)
        response = eligibility(inquiry, found, today=now.date(), receivers=receivers)
    return build_271(response, envelope, inquiry)
