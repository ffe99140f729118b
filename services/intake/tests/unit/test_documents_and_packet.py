"""Document sniffing, clocks and packet well-formedness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from wiser_intake.domain import clock
from wiser_intake.domain.documents import safe_filename, sniff
from wiser_intake.domain.packet import PacketIn


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"%PDF-1.7\n", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n....", "image/png"),
        (b"\xff\xd8\xff\xe0....", "image/jpeg"),
        (b"II*\x00....", "image/tiff"),
        (b"MM\x00*....", "image/tiff"),
        (b"MZ\x90\x00", None),
        (b"#!/bin/sh\n", None),
        (b"", None),
    ],
)
def test_the_bytes_decide_the_type(head: bytes, expected: str | None) -> None:
    assert sniff(head) == expected


def test_filenames_lose_paths_and_odd_characters() -> None:
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("C:\\scans\\note<1>.pdf") == "note1.pdf"
    assert safe_filename(None) == "document"


def test_standard_is_three_days_and_expedited_two() -> None:
    t = datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert clock.due_at(t, "standard") - t == timedelta(days=3)
    assert clock.due_at(t, "expedited") - t == timedelta(days=2)


def test_resubmission_needs_previous_utn(build_packet) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError):
        PacketIn.model_validate(build_packet(submission_type="resubmission"))


def test_expedited_needs_a_reason(build_packet) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError):
        PacketIn.model_validate(build_packet(review_type="expedited"))


def test_unknown_fields_are_refused(build_packet) -> None:  # type: ignore[no-untyped-def]
    p = build_packet()
    p["beneficiary"]["ssn"] = "000-00-0000"
    with pytest.raises(ValidationError) as e:
        PacketIn.model_validate(p)
    assert e.value.errors()[0]["type"] == "extra_forbidden"


def test_a_malformed_mbi_is_still_well_formed_for_the_door(build_packet) -> None:  # type: ignore[no-untyped-def]
    p = build_packet()
    p["beneficiary"]["mbi"] = "1EG4-TE5-MK73"
    assert PacketIn.model_validate(p).beneficiary.mbi == "1EG4-TE5-MK73"
