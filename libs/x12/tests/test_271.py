"""271 response: the HETS shapes round-trip, one byte-exact sample, and the benefit readings."""

from dataclasses import replace
from datetime import date, datetime

import pytest

from wiser_x12 import (
    AAARejection,
    Benefit,
    EligibilityInquiry,
    EligibilityResponse,
    Envelope,
    X12Error,
    build_271,
    medicaid,
    medicare_advantage,
    parse_271,
    part_in_effect,
    railroad,
)

ENVELOPE = Envelope(
    sender_id="CMS",
    receiver_id="WISERPA",
    interchange_control=2,
    group_control=2,
    transaction_control="0001",
    created=datetime(2026, 4, 24, 9, 31),
    usage="T",
)
INQUIRY = EligibilityInquiry(
    trace_number="PKT0001",
    payer_id="CMS",
    provider_npi="1151056334",
    provider_name="BRIGHTWATER, URSULA",
    mbi="4T23G36FG29",
    first_name="IRIS",
    last_name="CALLOWAY",
    date_of_birth=date(1946, 8, 17),
    gender="F",
    date_of_service=date(2026, 5, 1),
)
SINCE_2013: dict[str, tuple[date, date | None]] = {"307": (date(2013, 1, 1), None)}
PART_A = Benefit("1", None, ("30", "42"), "MA", None, SINCE_2013)
PART_B = Benefit("1", None, ("30", "2"), "MB", None, SINCE_2013)
MA_PLAN = Benefit("R", None, ("30",), "HN", None, {"290": (date(2025, 1, 1), None)}, "H3154", "SYNTHETIC ADVANTAGE HMO")


def subscriber(**changes) -> EligibilityResponse:
    base = EligibilityResponse(
        trace_number="PKT0001",
        mbi="4T23G36FG29",
        first_name="IRIS",
        last_name="CALLOWAY",
        date_of_birth=date(1946, 8, 17),
        gender="F",
        date_of_death=None,
        benefits=(PART_A, PART_B),
    )
    return replace(base, **changes)


MA_271 = (
    "ISA*00*          *00*          *ZZ*CMS            *ZZ*WISERPA        *260424*0931*^*00501*000000002*0*T*:~"
    "GS*HB*CMS*WISERPA*20260424*0931*2*X*005010X279A1~"
    "ST*271*0001*005010X279A1~"
    "BHT*0022*11*PKT0001*20260424*0931~"
    "HL*1**20*1~"
    "NM1*PR*2*CMS*****PI*CMS~"
    "HL*2*1*21*1~"
    "NM1*1P*1*BRIGHTWATER*URSULA****XX*1151056334~"
    "HL*3*2*22*0~"
    "TRN*2*PKT0001*9WISERPA01~"
    "NM1*IL*1*CALLOWAY*IRIS****MI*4T23G36FG29~"
    "DMG*D8*19460817*F~"
    "EB*1**30^42*MA~"
    "DTP*307*D8*20130101~"
    "EB*1**30^2*MB~"
    "DTP*307*D8*20130101~"
    "EB*R**30*HN~"
    "REF*18*H3154~"
    "DTP*290*D8*20250101~"
    "LS*2120~"
    "NM1*PRP*2*SYNTHETIC ADVANTAGE HMO~"
    "LE*2120~"
    "SE*21*0001~"
    "GE*1*2~"
    "IEA*1*000000002~"
)


def test_medicare_advantage_271_is_byte_exact_and_reads_back() -> None:
    response = subscriber(benefits=(PART_A, PART_B, MA_PLAN))
    assert build_271(response, ENVELOPE, INQUIRY) == MA_271
    assert parse_271(MA_271) == response
    assert parse_271(MA_271.replace("~", "~\n")) == response


SHAPES = {
    "a_part_a_and_b_active": subscriber(),
    "b_medicare_advantage": subscriber(benefits=(PART_A, PART_B, MA_PLAN)),
    "c_date_of_death": subscriber(date_of_death=date(2026, 3, 2)),
    "d_not_found": subscriber(
        first_name=None,
        last_name=None,
        date_of_birth=None,
        gender=None,
        benefits=(),
        rejections=(AAARejection("2100C", "N", "75", "C"),),
    ),
    "d_name_and_dob": subscriber(
        benefits=(),
        rejections=(AAARejection("2100C", "N", "73", "C"), AAARejection("2100C", "N", "71", "C")),
    ),
    "e_part_a_only": subscriber(benefits=(PART_A, Benefit("6", None, ("30",), "MB", None))),
    "range_dates_and_coverage_level": subscriber(
        benefits=(
            Benefit("1", "IND", ("30",), "MB", "RAILROAD MEDICARE", {"307": (date(2013, 1, 1), date(2025, 12, 31))}),
        )
    ),
    "provider_rejected": subscriber(benefits=(), rejections=(AAARejection("2100B", "N", "43", None),)),
}


@pytest.mark.parametrize("name", SHAPES)
def test_271_shapes_round_trip(name: str) -> None:
    response = SHAPES[name]
    assert parse_271(build_271(response, ENVELOPE, INQUIRY)) == response


def test_not_found_writes_aaa_in_2100c() -> None:
    text = build_271(SHAPES["d_not_found"], ENVELOPE, INQUIRY)
    assert "NM1*IL*1******MI*4T23G36FG29~AAA*N**75*C~" in text
    assert "DMG" not in text and "EB*" not in text


def test_date_of_death_is_dtp_442_in_2100c() -> None:
    text = build_271(SHAPES["c_date_of_death"], ENVELOPE, INQUIRY)
    assert "DMG*D8*19460817*F~DTP*442*D8*20260302~EB*1**30^42*MA~" in text


def test_source_rejection_carries_only_the_information_source() -> None:
    unable = EligibilityResponse(None, None, None, None, None, None, None, (), (AAARejection("2000A", "N", "42", "R"),))
    text = build_271(unable, ENVELOPE)
    assert "HL*1**20*0~AAA*N**42*R~NM1*PR*2*CMS*****PI*CMS~SE*6*0001~" in text
    assert parse_271(text) == unable
    with pytest.raises(X12Error, match="no subscriber data"):
        build_271(replace(unable, mbi="4T23G36FG29"), ENVELOPE)


def test_without_inquiry_the_envelope_names_payer_and_receiver() -> None:
    text = build_271(subscriber(), ENVELOPE)
    assert "NM1*PR*2*CMS*****PI*CMS~" in text and "NM1*1P*2*WISERPA*****SV*WISERPA~" in text
    assert parse_271(text) == subscriber()


def test_reads_plan_id_from_2120c_when_no_ref() -> None:
    text = MA_271.replace("REF*18*H3154~", "").replace(
        "NM1*PRP*2*SYNTHETIC ADVANTAGE HMO~", "NM1*PRP*2*SYNTHETIC ADVANTAGE HMO*****PI*H3154~"
    )
    text = text.replace("SE*21*", "SE*20*")
    assert parse_271(text).benefits[2] == MA_PLAN


def test_unwritable_rejection_loop_and_malformed_271() -> None:
    with pytest.raises(X12Error, match="2110C"):
        build_271(subscriber(rejections=(AAARejection("2110C", "N", "15", None),)), ENVELOPE)
    with pytest.raises(X12Error, match="SE01"):
        parse_271(MA_271.replace("SE*21*", "SE*22*"))
    with pytest.raises(X12Error, match="GS01"):
        parse_271(MA_271.replace("GS*HB*", "GS*HS*"))
    with pytest.raises(X12Error, match="RD8"):
        parse_271(MA_271.replace("DTP*290*D8*20250101", "DTP*290*RD8*20250101"))


# ------------------------------------------------------------------------------------------- readings

ON = date(2026, 5, 1)


def test_part_in_effect() -> None:
    eligible = SHAPES["a_part_a_and_b_active"]
    assert part_in_effect(eligible, "MA", ON) and part_in_effect(eligible, "MB", ON)
    assert not part_in_effect(eligible, "MA", date(2012, 12, 31))
    part_a_only = SHAPES["e_part_a_only"]
    assert part_in_effect(part_a_only, "MA", ON) and not part_in_effect(part_a_only, "MB", ON)
    ended = SHAPES["range_dates_and_coverage_level"]
    assert part_in_effect(ended, "MB", date(2025, 12, 31)) and not part_in_effect(ended, "MB", ON)
    begin_end = Benefit(
        "1", None, ("30",), "MA", None, {"356": (date(2020, 1, 1), None), "357": (date(2020, 6, 30), None)}
    )
    dated = subscriber(benefits=(begin_end,))
    assert part_in_effect(dated, "MA", date(2020, 3, 1)) and not part_in_effect(dated, "MA", date(2020, 7, 1))
    assert not part_in_effect(SHAPES["d_not_found"], "MA", ON)


def test_medicare_advantage() -> None:
    assert medicare_advantage(SHAPES["b_medicare_advantage"], ON) == MA_PLAN
    assert medicare_advantage(SHAPES["b_medicare_advantage"], date(2024, 12, 31)) is None
    assert medicare_advantage(SHAPES["a_part_a_and_b_active"], ON) is None
    no_plan_data = replace(MA_PLAN, plan_id=None, plan_name=None)
    assert medicare_advantage(subscriber(benefits=(no_plan_data,)), ON) is None


def test_railroad_and_medicaid() -> None:
    assert railroad(SHAPES["range_dates_and_coverage_level"])
    assert not railroad(SHAPES["a_part_a_and_b_active"])
    medicaid_only = subscriber(
        benefits=(
            Benefit("6", None, ("30",), "MA", None),
            Benefit("6", None, ("30",), "MB", None),
            Benefit("R", None, ("30",), "MC", "MEDICAID"),
        )
    )
    assert medicaid(medicaid_only) and not medicaid(SHAPES["a_part_a_and_b_active"])
    assert not part_in_effect(medicaid_only, "MA", ON) and not part_in_effect(medicaid_only, "MB", ON)
