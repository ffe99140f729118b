"""Protocol readings of a 271's benefits (what the EB loops say, not what the business does with it).

- Part A / Part B: an EB01=1 (active coverage) loop with EB04 MA / MB whose eligibility period contains the
  date. The period is DTP*307 (a D8 is open-ended), else DTP*356 begin / DTP*357 end; no dates = no limit.
- Medicare Advantage: an EB01=R (other or additional payer) or EB01=1 loop with an MA plan insurance type
  (HN, HM, IN, PR, PS) and plan data (REF*18 / 2120C NM1*PRP / EB05), in effect per DTP*290 (coordination of
  benefits, as HETS dates MA enrollment), else DTP*307, else DTP*346/347 plan begin/end.
- Railroad Medicare: an active MA or MB loop whose EB05 or 2120C name says RAILROAD (the sandbox HETS writes
  "RAILROAD MEDICARE" in EB05 of both parts).
- Medicaid: an EB01=R loop with EB04 MC (Medicaid).
"""

from __future__ import annotations

from datetime import date

from .models import Benefit, EligibilityResponse

PART_A, PART_B, MEDICAID = "MA", "MB", "MC"
ACTIVE, INACTIVE, OTHER_PAYER = "1", "6", "R"
MA_PLAN_TYPES = frozenset({"HN", "HM", "IN", "PR", "PS"})


def _covers(benefit: Benefit, on: date, range_qualifier: str, begin: str, end: str) -> bool:
    """Whether ``on`` lies in the benefit's range DTP, else in its begin/end DTPs; no dates means no limit."""
    start: date | None
    stop: date | None
    if range_qualifier in benefit.dates:
        start, stop = benefit.dates[range_qualifier]
    else:
        start, stop = benefit.dates.get(begin, (None,))[0], benefit.dates.get(end, (None,))[0]
    return (start is None or start <= on) and (stop is None or on <= stop)


def part_in_effect(resp: EligibilityResponse, insurance_type: str, on: date) -> bool:
    """True when an active-coverage EB loop for ``insurance_type`` (MA = Part A, MB = Part B) covers ``on``."""
    return any(
        b.info_code == ACTIVE and b.insurance_type == insurance_type and _covers(b, on, "307", "356", "357")
        for b in resp.benefits
    )


def medicare_advantage(resp: EligibilityResponse, on: date) -> Benefit | None:
    """The Medicare Advantage plan benefit in effect on ``on``, if the 271 reports one."""
    for b in resp.benefits:
        if b.info_code not in (OTHER_PAYER, ACTIVE) or b.insurance_type not in MA_PLAN_TYPES:
            continue
        if not (b.plan_id or b.plan_name or b.plan_description):
            continue
        qualifier = next((q for q in ("290", "307") if q in b.dates), "")
        if _covers(b, on, qualifier, "346", "347"):
            return b
    return None


def railroad(resp: EligibilityResponse) -> bool:
    """True when the active Part A or B coverage is administered as Railroad Medicare."""
    return any(
        b.info_code == ACTIVE
        and b.insurance_type in (PART_A, PART_B)
        and "RAILROAD" in f"{b.plan_description or ''} {b.plan_name or ''}".upper()
        for b in resp.benefits
    )


def medicaid(resp: EligibilityResponse) -> bool:
    """True when the 271 reports Medicaid as another payer."""
    return any(b.info_code == OTHER_PAYER and b.insurance_type == MEDICAID for b in resp.benefits)
