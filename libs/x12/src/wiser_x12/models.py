"""Plain, frozen values for the 270 inquiry and 271 response (no parsing here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


class X12Error(ValueError):
    """Malformed X12 input (or a value that cannot be written as X12)."""


@dataclass(frozen=True)
class Envelope:
    """ISA/GS/ST control data of one interchange holding one transaction set."""

    sender_id: str  # ISA06 / GS02
    receiver_id: str  # ISA08 / GS03
    interchange_control: int  # ISA13 (written zero padded to 9 digits)
    group_control: int  # GS06
    transaction_control: str  # ST02 (4-9 characters)
    created: datetime  # ISA09/ISA10 (YYMMDD HHMM) and GS04/GS05 (CCYYMMDD HHMM[SS])
    usage: str = "P"  # ISA15: P production, T test


@dataclass(frozen=True)
class EligibilityInquiry:
    """What a 270 asks: one subscriber (Medicare has no dependents), one date of service."""

    trace_number: str  # TRN02 of 2000C (also written as BHT03)
    payer_id: str  # NM1*PR NM109 (2100A), "CMS" for HETS
    provider_npi: str  # NM1*1P NM109 with NM108 XX (2100B)
    provider_name: str  # "LAST, FIRST" -> person (NM102=1), anything else -> organisation (NM102=2)
    mbi: str  # NM1*IL NM109 with NM108 MI (2100C)
    first_name: str
    last_name: str
    date_of_birth: date  # DMG*D8*CCYYMMDD
    gender: str | None  # DMG03 F/M/U
    date_of_service: date  # DTP*291*D8, or the start of DTP*291*RD8 with date_of_service_end
    service_type_codes: tuple[str, ...] = ("30",)  # EQ01, repeated with ^
    date_of_service_end: date | None = None  # last date of a span of dates of service (DTP*291*RD8)


@dataclass(frozen=True)
class Benefit:
    """One EB loop (2110C) of a 271."""

    info_code: str  # EB01: 1 active, 6 inactive, I non-covered, R other or additional payer, ...
    coverage_level: str | None  # EB02, e.g. IND
    service_types: tuple[str, ...]  # EB03 split on the repetition separator
    insurance_type: str | None  # EB04: MA Part A, MB Part B, HN/HM Medicare Advantage HMO, MC Medicaid, ...
    plan_description: str | None  # EB05
    dates: dict[str, tuple[date, date | None]] = field(default_factory=dict)  # DTP01 -> (start, end); D8 end=None
    plan_id: str | None = None  # REF*18 (2110C), else NM109 of the 2120C NM1
    plan_name: str | None = None  # NM103 of the 2120C NM1 (written as NM1*PRP)


@dataclass(frozen=True)
class AAARejection:
    """An AAA (request validation) segment and the loop it sat in."""

    loop: str  # 2000A, 2100A, 2100B, 2100C (2110C is read but not written)
    valid: str  # AAA01 Y/N
    reason_code: str  # AAA03: 42 unable to respond now, 71 DOB, 72 member id, 73 name, 75 subscriber not found, ...
    follow_up: str | None  # AAA04: C correct and resubmit, N do not resubmit, R resubmission allowed, ...


@dataclass(frozen=True)
class EligibilityResponse:
    """What a 271 says about one subscriber."""

    trace_number: str | None  # TRN02 of the TRN*2 echoed in 2000C
    mbi: str | None
    first_name: str | None
    last_name: str | None
    date_of_birth: date | None
    gender: str | None
    date_of_death: date | None  # 2100C DTP*442 (X279A1 "Date of Death" qualifier)
    benefits: tuple[Benefit, ...] = ()
    rejections: tuple[AAARejection, ...] = ()
