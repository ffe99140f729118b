"""Build and parse 005010X279A1 270/271 interchanges.

Writing always uses ``*`` elements, ``^`` repetitions, ``:`` components and ``~`` segment terminators, with
no newlines, trailing empty elements trimmed. Reading takes the separators from the fixed-width ISA, accepts
line breaks after terminators, checks SE/GE/IEA counts and control numbers and the version at every level,
and reads one transaction set with one subscriber (Medicare has no dependents, so no 2000D).

Layout written (loops of the implementation guide in brackets)::

    ISA GS ST BHT
    HL*1**20*1 [2000A] (AAA) NM1*PR [2100A] (AAA)
    HL*2*1*21*1 [2000B] NM1*1P [2100B] (AAA)
    HL*3*2*22*0 [2000C] TRN NM1*IL [2100C] (AAA) DMG DTP*291 (270) / DTP*442 (271)
    270: EQ          271: EB [2110C] REF*18 DTP... (LS NM1*PRP [2120C] LE) ...
    SE GE IEA

Choices made here:

- BHT03 carries the inquiry's trace number (the 271 echoes it); TRN03 is ``ORIGINATOR``.
- ``provider_name`` "LAST, FIRST" is written as a person (NM102=1), anything else as an organisation.
- A 271 with an AAA at 2000A or 2100A (e.g. 42 "unable to respond") carries only the information source
  loops, as HETS sends it; such a response must not carry subscriber data.
- ``build_271`` without the inquiry names the payer after ``envelope.sender_id`` and the information
  receiver after ``envelope.receiver_id`` (NM108 SV); those loops are not part of ``EligibilityResponse``.
- Free text from users (names) cannot break the interchange: X12 has no escape, so ``clean`` removes the
  delimiters (and control characters), folds accented letters to ASCII and cuts the value to the element's
  maximum length (NM103 60, NM104 35), as the implementation guide says. Other elements are ours and are
  refused (X12Error) if they hold a delimiter.
- One date of service is DTP*291*D8; several (``date_of_service_end``) are their span, DTP*291*RD8.
- Date of death is 2100C DTP*442. Times are written HHMM (GS05 gets HHMMSS when seconds are non-zero), as the
  wall-clock figures of ``Envelope.created`` (no time zone conversion); parsed envelopes are naive.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from .models import AAARejection, Benefit, EligibilityInquiry, EligibilityResponse, Envelope, X12Error

VERSION = "005010X279A1"
ISA_VERSION = "00501"
ELEMENT, REPETITION, COMPONENT, TERMINATOR = "*", "^", ":", "~"
ORIGINATOR = "9WISERPA01"  # TRN03: "9" + 9-character originating company identifier
ISA_LENGTH = 106
_ISA_SEPARATOR_POSITIONS = (3, 6, 17, 20, 31, 34, 50, 53, 69, 76, 81, 83, 89, 99, 101, 103)
_WRITABLE_REJECTION_LOOPS = ("2000A", "2100A", "2100B", "2100C")
_SOURCE_LOOPS = ("2000A", "2100A")
# Maximum lengths (005010X279A1) of the free-text elements written from user data.
NAME_LAST_OR_ORGANISATION_MAX = 60  # NM103
NAME_FIRST_MAX = 35  # NM104
_DELIMITERS = frozenset((ELEMENT, REPETITION, COMPONENT, TERMINATOR))


# --------------------------------------------------------------------------------------------- writing


def clean(value: str | None, max_length: int) -> str:
    """User text made fit for one X12 element: accents folded to ASCII, delimiters and control characters
    removed (X12 has no escape), spaces collapsed, cut to ``max_length``. Never raises."""
    if not value:
        return ""
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    kept = "".join(
        " " if ch.isspace() else ch for ch in folded if ch not in _DELIMITERS and (ch.isprintable() or ch.isspace())
    )
    return " ".join(kept.split())[:max_length].rstrip()


def _check(value: str) -> str:
    for sep in (ELEMENT, REPETITION, COMPONENT, TERMINATOR):
        if sep in value:
            raise X12Error(f"value {value!r} contains the separator {sep!r}")
    return value


def _seg(tag: str, *elements: str | tuple[str, ...] | None) -> str:
    """One segment; a tuple element is a repeated element, trailing empty elements are dropped."""
    values = [REPETITION.join(_check(v) for v in e) if isinstance(e, tuple) else _check(e or "") for e in elements]
    while values and values[-1] == "":
        values.pop()
    return ELEMENT.join([tag, *values])


def _d8(d: date) -> str:
    return d.strftime("%Y%m%d")


def _dtp(qualifier: str, start: date, end: date | None = None) -> str:
    if end is None or end == start:
        return _seg("DTP", qualifier, "D8", _d8(start))
    return _seg("DTP", qualifier, "RD8", f"{_d8(start)}-{_d8(end)}")


def _interchange(envelope: Envelope, functional_id: str, transaction: str, body: list[str]) -> str:
    env = envelope
    for name, value in (("sender_id", env.sender_id), ("receiver_id", env.receiver_id)):
        if not 1 <= len(value) <= 15:
            raise X12Error(f"{name} must be 1-15 characters: {value!r}")
        _check(value)
    if env.usage not in ("P", "T"):
        raise X12Error(f"usage must be P or T: {env.usage!r}")
    if not 1 <= env.interchange_control <= 999_999_999:
        raise X12Error(f"interchange_control out of range: {env.interchange_control}")
    if not 1 <= env.group_control <= 999_999_999:
        raise X12Error(f"group_control out of range: {env.group_control}")
    if not 4 <= len(env.transaction_control) <= 9:
        raise X12Error(f"transaction_control must be 4-9 characters: {env.transaction_control!r}")
    created = env.created
    gs_time = created.strftime("%H%M%S" if created.second else "%H%M")
    isa = ELEMENT.join(
        [
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            "ZZ",
            env.sender_id.ljust(15),
            "ZZ",
            env.receiver_id.ljust(15),
            created.strftime("%y%m%d"),
            created.strftime("%H%M"),
            REPETITION,
            ISA_VERSION,
            f"{env.interchange_control:09d}",
            "0",
            env.usage,
            COMPONENT,
        ]
    )
    ctrl = env.transaction_control
    segments = [
        isa,
        _seg(
            "GS",
            functional_id,
            env.sender_id,
            env.receiver_id,
            _d8(created),
            gs_time,
            str(env.group_control),
            "X",
            VERSION,
        ),
        _seg("ST", transaction, ctrl, VERSION),
        *body,
        _seg("SE", str(len(body) + 2), ctrl),
        _seg("GE", "1", str(env.group_control)),
        _seg("IEA", "1", f"{env.interchange_control:09d}"),
    ]
    return "".join(s + TERMINATOR for s in segments)


def _provider_nm1(name: str, npi: str) -> str:
    last, sep, first = name.partition(", ")
    if sep and last and first:
        last, first = clean(last, NAME_LAST_OR_ORGANISATION_MAX), clean(first, NAME_FIRST_MAX)
        return _seg("NM1", "1P", "1", last, first, "", "", "", "XX", npi)
    return _seg("NM1", "1P", "2", clean(name, NAME_LAST_OR_ORGANISATION_MAX), "", "", "", "", "XX", npi)


def _subscriber_nm1(last: str | None, first: str | None, mbi: str | None) -> str:
    return _seg(
        "NM1",
        "IL",
        "1",
        clean(last, NAME_LAST_OR_ORGANISATION_MAX),
        clean(first, NAME_FIRST_MAX),
        "",
        "",
        "",
        "MI" if mbi else None,
        mbi,
    )


def _dmg(dob: date | None, gender: str | None) -> list[str]:
    if dob is None and gender is None:
        return []
    return [_seg("DMG", "D8" if dob else None, _d8(dob) if dob else None, gender)]


def build_270(inquiry: EligibilityInquiry, envelope: Envelope) -> str:
    """The 270 interchange for ``inquiry``: one information source, receiver and subscriber."""
    q = inquiry
    if not q.service_type_codes:
        raise X12Error("at least one service type code is required")
    if q.date_of_service_end is not None and q.date_of_service_end < q.date_of_service:
        raise X12Error("the date of service span ends before it starts")
    created = envelope.created
    body = [
        _seg("BHT", "0022", "13", q.trace_number, _d8(created), created.strftime("%H%M")),
        _seg("HL", "1", "", "20", "1"),
        _seg("NM1", "PR", "2", q.payer_id, "", "", "", "", "PI", q.payer_id),
        _seg("HL", "2", "1", "21", "1"),
        _provider_nm1(q.provider_name, q.provider_npi),
        _seg("HL", "3", "2", "22", "0"),
        _seg("TRN", "1", q.trace_number, ORIGINATOR),
        _subscriber_nm1(q.last_name, q.first_name, q.mbi),
        *_dmg(q.date_of_birth, q.gender),
        _dtp("291", q.date_of_service, q.date_of_service_end),
        _seg("EQ", q.service_type_codes),
    ]
    return _interchange(envelope, "HS", "270", body)


def _aaa(rejections: Iterable[AAARejection], loop: str) -> list[str]:
    return [_seg("AAA", r.valid, "", r.reason_code, r.follow_up) for r in rejections if r.loop == loop]


def _benefit(b: Benefit) -> list[str]:
    out = [
        _seg(
            "EB",
            b.info_code,
            b.coverage_level,
            b.service_types,
            b.insurance_type,
            b.plan_description,
        )
    ]
    if b.plan_id is not None:
        out.append(_seg("REF", "18", b.plan_id))
    out += [_dtp(qualifier, start, end) for qualifier, (start, end) in b.dates.items()]
    if b.plan_name is not None:
        out += ["LS*2120", _seg("NM1", "PRP", "2", b.plan_name), "LE*2120"]
    return out


def build_271(response: EligibilityResponse, envelope: Envelope, inquiry: EligibilityInquiry | None = None) -> str:
    """The 271 interchange for ``response``; ``inquiry`` supplies the payer and provider loops it echoes."""
    r = response
    for rej in r.rejections:
        if rej.loop not in _WRITABLE_REJECTION_LOOPS:
            raise X12Error(f"cannot write an AAA in loop {rej.loop!r}")
    payer = inquiry.payer_id if inquiry else envelope.sender_id
    created = envelope.created
    reference = r.trace_number or (inquiry.trace_number if inquiry else None)
    source_rejected = any(rej.loop in _SOURCE_LOOPS for rej in r.rejections)
    body = [
        _seg("BHT", "0022", "11", reference, _d8(created), created.strftime("%H%M")),
        _seg("HL", "1", "", "20", "0" if source_rejected else "1"),
        *_aaa(r.rejections, "2000A"),
        _seg("NM1", "PR", "2", payer, "", "", "", "", "PI", payer),
        *_aaa(r.rejections, "2100A"),
    ]
    if source_rejected:
        if r.benefits or r.mbi or r.first_name or r.last_name or r.date_of_birth or r.date_of_death or r.gender:
            raise X12Error("a 271 rejected at 2000A/2100A carries no subscriber data")
        if any(rej.loop not in _SOURCE_LOOPS for rej in r.rejections):
            raise X12Error("a 271 rejected at 2000A/2100A carries no receiver or subscriber rejections")
        return _interchange(envelope, "HB", "271", body)
    if inquiry:
        provider = _provider_nm1(inquiry.provider_name, inquiry.provider_npi)
    else:
        provider = _seg("NM1", "1P", "2", envelope.receiver_id, "", "", "", "", "SV", envelope.receiver_id)
    body += [
        _seg("HL", "2", "1", "21", "1"),
        provider,
        *_aaa(r.rejections, "2100B"),
        _seg("HL", "3", "2", "22", "0"),
    ]
    if r.trace_number is not None:
        body.append(_seg("TRN", "2", r.trace_number, ORIGINATOR))
    body += [
        _subscriber_nm1(r.last_name, r.first_name, r.mbi),
        *_aaa(r.rejections, "2100C"),
        *_dmg(r.date_of_birth, r.gender),
    ]
    if r.date_of_death is not None:
        body.append(_dtp("442", r.date_of_death))
    for b in r.benefits:
        body += _benefit(b)
    return _interchange(envelope, "HB", "271", body)


# --------------------------------------------------------------------------------------------- reading


@dataclass
class _Transaction:
    envelope: Envelope
    segments: list[list[str]]  # between ST and SE, exclusive
    repetition: str


def _el(seg: list[str], n: int) -> str:
    return seg[n] if len(seg) > n else ""


def _int(value: str, what: str) -> int:
    if not value.strip().isdigit():
        raise X12Error(f"{what} is not a number: {value!r}")
    return int(value)


def _parse_date(value: str) -> date:
    try:
        return datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        raise X12Error(f"bad CCYYMMDD date: {value!r}") from None


def _period(seg: list[str]) -> tuple[date, date | None]:
    fmt, value = _el(seg, 2), _el(seg, 3)
    if fmt == "D8":
        return _parse_date(value), None
    if fmt == "RD8":
        start, sep, end = value.partition("-")
        if not sep:
            raise X12Error(f"bad RD8 range: {value!r}")
        return _parse_date(start), _parse_date(end)
    raise X12Error(f"unsupported date format {fmt!r} in {ELEMENT.join(seg)}")


def _created(gs: list[str]) -> datetime:
    day, time = _el(gs, 4), _el(gs, 5)
    if len(day) != 8 or len(time) not in (4, 6, 7, 8) or not (day + time).isdigit():
        raise X12Error(f"bad GS04/GS05 date or time: {day!r} {time!r}")
    try:
        return datetime.strptime(day + time[:6].ljust(6, "0"), "%Y%m%d%H%M%S")
    except ValueError:
        raise X12Error(f"bad GS04/GS05 date or time: {day!r} {time!r}") from None


def _segments(text: str) -> tuple[list[str], list[list[str]], str]:
    text = text.lstrip("\ufeff \t\r\n")
    if not text.startswith("ISA"):
        raise X12Error("no ISA segment at the start of the interchange")
    if len(text) < ISA_LENGTH:
        raise X12Error("truncated ISA segment")
    sep = text[3]
    if sep.isalnum() or sep.isspace() or any(text[i] != sep for i in _ISA_SEPARATOR_POSITIONS):
        raise X12Error("malformed ISA segment: elements are not at their fixed positions")
    repetition, terminator = text[82], text[105]
    if terminator in (sep, repetition) or terminator.isalnum():
        raise X12Error("malformed ISA segment: bad segment terminator")
    isa = text[:105].split(sep)
    rest = [s.strip("\r\n") for s in text[ISA_LENGTH:].split(terminator)]
    return isa, [s.split(sep) for s in rest if s.strip()], repetition


def _read(text: str, functional_id: str, transaction: str) -> _Transaction:
    isa, segs, repetition = _segments(text)
    if isa[12] != ISA_VERSION:
        raise X12Error(f"ISA12 version {isa[12]!r} is not {ISA_VERSION}")
    isa13 = _int(isa[13], "ISA13")
    found: list[tuple[list[str], list[list[str]]]] = []
    i, groups = 0, 0
    while i < len(segs) and segs[i][0] != "IEA":
        gs = segs[i]
        if gs[0] != "GS":
            raise X12Error(f"expected GS, found {gs[0]}")
        groups += 1
        i += 1
        sets = 0
        while True:
            if i >= len(segs):
                raise X12Error("missing GE")
            if segs[i][0] == "GE":
                break
            if segs[i][0] != "ST":
                raise X12Error(f"expected ST or GE, found {segs[i][0]}")
            start = i
            i += 1
            while i < len(segs) and segs[i][0] not in ("SE", "ST", "GE", "GS", "IEA"):
                i += 1
            if i >= len(segs) or segs[i][0] != "SE":
                raise X12Error("missing SE")
            st, se = segs[start], segs[i]
            if _int(_el(se, 1), "SE01") != i - start + 1:
                raise X12Error(f"SE01 says {_el(se, 1)} segments, the transaction has {i - start + 1}")
            if _el(se, 2) != _el(st, 2):
                raise X12Error(f"SE02 {_el(se, 2)!r} does not match ST02 {_el(st, 2)!r}")
            found.append((gs, segs[start : i + 1]))
            sets += 1
            i += 1
        ge = segs[i]
        if _int(_el(ge, 1), "GE01") != sets:
            raise X12Error(f"GE01 says {_el(ge, 1)} transaction sets, the group has {sets}")
        if _el(ge, 2) != _el(gs, 6):
            raise X12Error(f"GE02 {_el(ge, 2)!r} does not match GS06 {_el(gs, 6)!r}")
        i += 1
    if i >= len(segs):
        raise X12Error("missing IEA")
    iea = segs[i]
    if i != len(segs) - 1:
        raise X12Error("data after IEA")
    if _int(_el(iea, 1), "IEA01") != groups:
        raise X12Error(f"IEA01 says {_el(iea, 1)} groups, the interchange has {groups}")
    if _int(_el(iea, 2), "IEA02") != isa13:
        raise X12Error(f"IEA02 {_el(iea, 2)!r} does not match ISA13 {isa[13]!r}")
    if len(found) != 1:
        raise X12Error(f"expected exactly one transaction set, found {len(found)}")
    gs, body = found[0]
    st = body[0]
    if _el(gs, 1) != functional_id:
        raise X12Error(f"GS01 {_el(gs, 1)!r} is not {functional_id}")
    if _el(gs, 8) != VERSION or _el(st, 3) != VERSION:
        raise X12Error(f"version is not {VERSION}: GS08 {_el(gs, 8)!r}, ST03 {_el(st, 3)!r}")
    if _el(st, 1) != transaction:
        raise X12Error(f"ST01 {_el(st, 1)!r} is not {transaction}")
    envelope = Envelope(
        sender_id=isa[6].rstrip(),
        receiver_id=isa[8].rstrip(),
        interchange_control=isa13,
        group_control=_int(_el(gs, 6), "GS06"),
        transaction_control=_el(st, 2),
        created=_created(gs),
        usage=isa[15],
    )
    return _Transaction(envelope, body[1:-1], repetition)


def _bht(segments: list[list[str]], purpose: str, kind: str) -> None:
    if not segments or segments[0][0] != "BHT":
        raise X12Error("BHT must follow ST")
    if _el(segments[0], 1) != purpose or _el(segments[0], 2) != kind:
        raise X12Error(f"BHT must be BHT*{purpose}*{kind}, found {ELEMENT.join(segments[0])}")


_LEVELS = {"20": "2000A", "21": "2000B", "22": "2000C"}


def _hl(seg: list[str], expected_id: int, seen: set[str]) -> str:
    code = _el(seg, 3)
    if code not in _LEVELS:
        raise X12Error(f"unsupported HL level code {code!r} (dependents are not used by Medicare)")
    if code in seen:
        raise X12Error(f"more than one HL*{code} loop: one subscriber per transaction")
    if _el(seg, 1) != str(expected_id):
        raise X12Error(f"HL01 {_el(seg, 1)!r} out of sequence, expected {expected_id}")
    seen.add(code)
    return _LEVELS[code]


def parse_270(text: str) -> tuple[EligibilityInquiry, Envelope]:
    """Read a 270 interchange; raises X12Error when it is malformed or incomplete."""
    tx = _read(text, "HS", "270")
    segs = tx.segments
    _bht(segs, "0022", "13")
    loop, hl_count = "", 0
    seen: set[str] = set()
    payer = provider_npi = provider_name = mbi = first = last = trace = None
    dob: date | None = None
    gender: str | None = None
    dos: date | None = None
    dos_end: date | None = None
    services: list[str] = []
    for seg in segs[1:]:
        tag = seg[0]
        if tag == "HL":
            hl_count += 1
            loop = _hl(seg, hl_count, seen)
        elif tag == "NM1" and loop == "2000A":
            loop, payer = "2100A", _el(seg, 9) or _el(seg, 3)
        elif tag == "NM1" and loop == "2000B":
            loop = "2100B"
            if _el(seg, 8) != "XX":
                raise X12Error("2100B must identify the provider by NPI (NM108 XX)")
            provider_npi = _el(seg, 9)
            last_or_org, first_name = _el(seg, 3), _el(seg, 4)
            provider_name = f"{last_or_org}, {first_name}" if _el(seg, 2) == "1" and first_name else last_or_org
        elif tag == "TRN" and loop == "2000C" and _el(seg, 1) == "1":
            trace = _el(seg, 2)
        elif tag == "NM1" and loop == "2000C":
            if _el(seg, 1) != "IL" or _el(seg, 8) != "MI":
                raise X12Error("2100C must be NM1*IL with the member id (NM108 MI)")
            loop, mbi, last, first = "2100C", _el(seg, 9), _el(seg, 3), _el(seg, 4)
        elif tag == "DMG" and loop == "2100C":
            if _el(seg, 1) != "D8":
                raise X12Error("DMG01 must be D8")
            dob, gender = _parse_date(_el(seg, 2)), _el(seg, 3) or None
        elif tag == "DTP" and loop == "2100C" and _el(seg, 1) == "291":
            dos, dos_end = _period(seg)
        elif tag == "EQ" and loop in ("2100C", "2110C"):
            loop = "2110C"
            services += [c for c in _el(seg, 1).split(tx.repetition) if c]
    missing = [
        name
        for name, value in (
            ("TRN (trace number)", trace),
            ("2100A payer", payer),
            ("2100B provider", provider_npi),
            ("2100C subscriber", mbi),
            ("DMG date of birth", dob),
            ("DTP*291 date of service", dos),
            ("EQ service type", services),
        )
        if not value
    ]
    if missing:
        raise X12Error("270 lacks " + ", ".join(missing))
    assert trace and payer and provider_npi and mbi and dob and dos  # narrowed by the check above
    inquiry = EligibilityInquiry(
        trace_number=trace,
        payer_id=payer,
        provider_npi=provider_npi,
        provider_name=provider_name or "",
        mbi=mbi,
        first_name=first or "",
        last_name=last or "",
        date_of_birth=dob,
        gender=gender,
        date_of_service=dos,
        date_of_service_end=dos_end,
        service_type_codes=tuple(services),
    )
    return inquiry, tx.envelope


@dataclass
class _OpenBenefit:
    eb: list[str]
    dates: dict[str, tuple[date, date | None]]
    plan_id: str | None = None
    plan_name: str | None = None

    def close(self, repetition: str) -> Benefit:
        eb = self.eb
        return Benefit(
            info_code=_el(eb, 1),
            coverage_level=_el(eb, 2) or None,
            service_types=tuple(s for s in _el(eb, 3).split(repetition) if s),
            insurance_type=_el(eb, 4) or None,
            plan_description=_el(eb, 5) or None,
            dates=self.dates,
            plan_id=self.plan_id,
            plan_name=self.plan_name,
        )


def parse_271(text: str) -> EligibilityResponse:
    """Read a 271 interchange; raises X12Error when it is malformed."""
    tx = _read(text, "HB", "271")
    segs = tx.segments
    _bht(segs, "0022", "11")
    loop, hl_count = "", 0
    seen: set[str] = set()
    trace = mbi = first = last = gender = None
    dob: date | None = None
    dod: date | None = None
    benefits: list[_OpenBenefit] = []
    rejections: list[AAARejection] = []
    for seg in segs[1:]:
        tag = seg[0]
        if tag == "HL":
            hl_count += 1
            loop = _hl(seg, hl_count, seen)
        elif tag == "AAA":
            rejections.append(AAARejection(loop, _el(seg, 1), _el(seg, 3), _el(seg, 4) or None))
        elif tag == "NM1" and loop in ("2000A", "2000B"):
            loop = "2100A" if loop == "2000A" else "2100B"
        elif tag == "TRN" and loop == "2000C" and _el(seg, 1) == "2":
            trace = _el(seg, 2)
        elif tag == "NM1" and loop == "2000C":
            loop = "2100C"
            last, first, mbi = _el(seg, 3) or None, _el(seg, 4) or None, _el(seg, 9) or None
        elif tag == "DMG" and loop == "2100C":
            dob = _parse_date(_el(seg, 2)) if _el(seg, 2) else None
            gender = _el(seg, 3) or None
        elif tag == "DTP" and loop == "2100C" and _el(seg, 1) == "442":
            dod = _period(seg)[0]
        elif tag == "EB" and loop in ("2100C", "2110C", "2120C"):
            loop = "2110C"
            benefits.append(_OpenBenefit(seg, {}))
        elif tag == "DTP" and loop == "2110C":
            benefits[-1].dates[_el(seg, 1)] = _period(seg)
        elif tag == "REF" and loop == "2110C" and _el(seg, 1) == "18":
            benefits[-1].plan_id = _el(seg, 2)
        elif tag == "LS" and loop == "2110C":
            loop = "2120C"
        elif tag == "LE" and loop == "2120C":
            loop = "2110C"
        elif tag == "NM1" and loop == "2120C":
            benefits[-1].plan_name = _el(seg, 3) or None
            if benefits[-1].plan_id is None and _el(seg, 9):
                benefits[-1].plan_id = _el(seg, 9)
    return EligibilityResponse(
        trace_number=trace,
        mbi=mbi,
        first_name=first,
        last_name=last,
        date_of_birth=dob,
        gender=gender,
        date_of_death=dod,
        benefits=tuple(b.close(tx.repetition) for b in benefits),
        rejections=tuple(rejections),
    )
