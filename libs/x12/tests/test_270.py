"""270 inquiry: byte-exact writing, reading back, and malformed interchanges."""

from dataclasses import replace
from datetime import date, datetime

import pytest

from wiser_x12 import EligibilityInquiry, Envelope, X12Error, build_270, clean, parse_270

ENVELOPE = Envelope(
    sender_id="WISERPA",
    receiver_id="CMS",
    interchange_control=1,
    group_control=1,
    transaction_control="0001",
    created=datetime(2026, 4, 24, 9, 30),
    usage="T",
)

AVERY = EligibilityInquiry(
    trace_number="PKT0001",
    payer_id="CMS",
    provider_npi="1151056334",
    provider_name="BRIGHTWATER, URSULA",
    mbi="9J06YC0QA26",
    first_name="AVERY",
    last_name="QUILLON",
    date_of_birth=date(1948, 12, 10),
    gender="F",
    date_of_service=date(2026, 5, 1),
)

# Written by hand from the 005010X279A1 guide and the HETS companion guide, not from build_270's output.
AVERY_270 = (
    "ISA*00*          *00*          *ZZ*WISERPA        *ZZ*CMS            *260424*0930*^*00501*000000001*0*T*:~"
    "GS*HS*WISERPA*CMS*20260424*0930*1*X*005010X279A1~"
    "ST*270*0001*005010X279A1~"
    "BHT*0022*13*PKT0001*20260424*0930~"
    "HL*1**20*1~"
    "NM1*PR*2*CMS*****PI*CMS~"
    "HL*2*1*21*1~"
    "NM1*1P*1*BRIGHTWATER*URSULA****XX*1151056334~"
    "HL*3*2*22*0~"
    "TRN*1*PKT0001*9WISERPA01~"
    "NM1*IL*1*QUILLON*AVERY****MI*9J06YC0QA26~"
    "DMG*D8*19481210*F~"
    "DTP*291*D8*20260501~"
    "EQ*30~"
    "SE*13*0001~"
    "GE*1*1~"
    "IEA*1*000000001~"
)


def test_isa_is_fixed_width() -> None:
    assert AVERY_270.index("~") + 1 == 106


def test_build_270_is_byte_exact() -> None:
    assert build_270(AVERY, ENVELOPE) == AVERY_270


def test_parse_270_reads_back_the_same_objects() -> None:
    assert parse_270(AVERY_270) == (AVERY, ENVELOPE)


def test_parse_tolerates_line_breaks_and_other_separators() -> None:
    assert parse_270(AVERY_270.replace("~", "~\r\n")) == (AVERY, ENVELOPE)
    other = AVERY_270.replace("*", "|").replace("~", "\n").replace("^", "{").replace("|:\n", "|>\n")
    assert parse_270(other) == (AVERY, ENVELOPE)


def test_round_trip_organisation_provider_several_service_types_and_seconds() -> None:
    inquiry = replace(
        AVERY,
        provider_name="NEWARK GENERAL HOSPITAL",
        provider_npi="1223236740",
        gender=None,
        service_type_codes=("30", "42", "AG"),
    )
    envelope = replace(ENVELOPE, created=datetime(2026, 4, 24, 9, 30, 15), usage="P", interchange_control=123456789)
    text = build_270(inquiry, envelope)
    assert "NM1*1P*2*NEWARK GENERAL HOSPITAL*****XX*1223236740~" in text
    assert "EQ*30^42^AG~" in text and "DMG*D8*19481210~" in text and "*123456789*0*P*:~" in text
    assert parse_270(text) == (inquiry, envelope)


def test_separate_eq_segments_are_read_too() -> None:
    text = AVERY_270.replace("EQ*30~", "EQ*30~EQ*42~").replace("SE*13*", "SE*14*")
    assert parse_270(text)[0].service_type_codes == ("30", "42")


def test_refuses_our_own_values_holding_a_separator() -> None:
    with pytest.raises(X12Error, match="separator"):
        build_270(replace(AVERY, trace_number="PKT*0001"), ENVELOPE)
    with pytest.raises(X12Error, match="separator"):
        build_270(replace(AVERY, mbi="9J06YC0QA2~"), ENVELOPE)
    with pytest.raises(X12Error, match="1-15"):
        build_270(AVERY, replace(ENVELOPE, sender_id="A-SENDER-ID-TOO-LONG"))


def test_a_name_holding_delimiters_is_written_without_them() -> None:
    """X12 has no escape: the delimiters go, the interchange stays well formed (DOMAIN.md)."""
    text = build_270(replace(AVERY, last_name="QUIL*LON", first_name="A~VE:RY^"), ENVELOPE)
    assert "NM1*IL*1*QUILLON*AVERY****MI*9J06YC0QA26~" in text
    assert text.count("~") == AVERY_270.count("~")
    again, _ = parse_270(text)
    assert (again.last_name, again.first_name) == ("QUILLON", "AVERY")


def test_names_are_cut_to_the_element_maximum_and_folded_to_ascii() -> None:
    text = build_270(replace(AVERY, last_name="Ø" + "L" * 70, first_name="Zoë " + "F" * 40), ENVELOPE)
    segment = next(s for s in text.split("~") if s.startswith("NM1*IL"))
    last, first = segment.split("*")[3:5]
    assert last == "L" * 60  # NM103: 60
    assert first == ("Zoe " + "F" * 40)[:35]  # NM104: 35


def test_user_text_is_cleaned_without_ever_raising() -> None:
    assert clean(None, 10) == ""
    assert clean("  O'Neil\t\r\n*Smith  ", 60) == "O'Neil Smith"
    assert clean("***~~~", 60) == ""
    assert clean("Ab\x00\x07cd", 60) == "Abcd"


def test_several_dates_of_service_are_asked_as_their_span() -> None:
    span = replace(AVERY, date_of_service=date(2026, 5, 1), date_of_service_end=date(2026, 6, 12))
    text = build_270(span, ENVELOPE)
    assert "DTP*291*RD8*20260501-20260612~" in text
    inquiry, _ = parse_270(text)
    assert (inquiry.date_of_service, inquiry.date_of_service_end) == (date(2026, 5, 1), date(2026, 6, 12))
    same_day = replace(AVERY, date_of_service_end=AVERY.date_of_service)
    assert build_270(same_day, ENVELOPE) == AVERY_270
    with pytest.raises(X12Error, match="span"):
        build_270(replace(AVERY, date_of_service_end=date(2026, 4, 30)), ENVELOPE)


def test_the_information_receiver_is_written_as_an_organisation_by_npi() -> None:
    receiver = replace(AVERY, provider_name="WISER REVIEW ORGANISATION", provider_npi="1234567893")
    text = build_270(receiver, ENVELOPE)
    assert "HL*2*1*21*1~NM1*1P*2*WISER REVIEW ORGANISATION*****XX*1234567893~" in text
    inquiry, _ = parse_270(text)
    assert (inquiry.provider_name, inquiry.provider_npi) == ("WISER REVIEW ORGANISATION", "1234567893")


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda t: t.replace("SE*13*", "SE*12*"), "SE01"),
        (lambda t: t.replace("SE*13*0001", "SE*13*0002"), "SE02"),
        (lambda t: t.replace("GE*1*1~", "GE*2*1~"), "GE01"),
        (lambda t: t.replace("GE*1*1~", "GE*1*7~"), "GE02"),
        (lambda t: t.replace("IEA*1*000000001", "IEA*1*000000002"), "IEA02"),
        (lambda t: t.replace("IEA*1*", "IEA*3*"), "IEA01"),
        (lambda t: t[:80], "truncated ISA"),
        (lambda t: t.replace("WISERPA        ", "WISERPA"), "fixed positions"),
        (lambda t: t[t.index("GS") :], "no ISA"),
        (lambda t: t.replace("005010X279A1", "004010X092A1"), "version"),
        (lambda t: t.replace("*00501*", "*00401*"), "ISA12"),
        (lambda t: t.replace("ST*270*", "ST*271*"), "ST01"),
        (lambda t: t.replace("GS*HS*", "GS*HB*"), "GS01"),
        (lambda t: t.replace("IEA*1*000000001~", ""), "missing IEA"),
        (lambda t: t.replace("SE*13*0001~", ""), "missing SE"),
        (lambda t: t + "GS*HS~", "after IEA"),
        (lambda t: t.replace("BHT*0022*13*", "BHT*0022*11*"), "BHT"),
        (lambda t: t.replace("DTP*291*D8*20260501~", "").replace("SE*13*", "SE*12*"), "date of service"),
        (lambda t: t.replace("DMG*D8*19481210", "DMG*D8*19481310"), "date"),
        (lambda t: t.replace("HL*3*2*22*0", "HL*3*2*23*0"), "HL level"),
    ],
)
def test_malformed_270_raises_x12error(mangle, message: str) -> None:
    with pytest.raises(X12Error, match=message):
        parse_270(mangle(AVERY_270))


def test_x12error_is_a_value_error() -> None:
    assert issubclass(X12Error, ValueError)
