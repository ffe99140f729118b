"""HETS: answer an X12 270 with a 271 from the beneficiary fixtures (see the package docstring)."""

from __future__ import annotations

from datetime import date, datetime

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


def eligibility(inquiry: EligibilityInquiry, beneficiary: Record | None) -> EligibilityResponse:
    """What HETS knows about the inquiry's MBI; name and DOB are the fixture's, whatever the 270 said."""
    if beneficiary is None or beneficiary["status"] == "not_found":
        return EligibilityResponse(
            trace_number=inquiry.trace_number,
            mbi=inquiry.mbi,
            first_name=None,
            last_name=None,
            date_of_birth=None,
            gender=None,
            date_of_death=None,
            rejections=(AAARejection("2100C", "N", "75", "C"),),
        )
    b = beneficiary
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


UNABLE_TO_RESPOND = EligibilityResponse(
    None, None, None, None, None, None, None, rejections=(AAARejection("2000A", "N", "42", "R"),)
)


def answer(text: str, fixtures: Fixtures, *, control: int, now: datetime, unable: bool = False) -> str:
    """The 271 for a 270 (raises X12Error for a malformed 270); ``unable`` answers AAA 42 at 2000A."""
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
    response = UNABLE_TO_RESPOND if unable else eligibility(inquiry, fixtures.beneficiaries.get(inquiry.mbi))
    return build_271(response, envelope, inquiry)
