"""What HETS's AAA answers mean for a packet (DOMAIN.md, the table of HETS AAA answers).

HETS answers a problem with an AAA segment: the loop it sits in and its reject reason (AAA03). Only the
subscriber loop (2100C) can be the beneficiary's fault; an AAA in the information source (2000A, 2100A) or
information receiver (2100B) loops means our own submitter set-up is wrong, whatever the code, except 42
and 80, which say HETS cannot answer now (in any loop).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

SUBSCRIBER_LOOP = "2100C"


class AaaMeaning(Enum):
    NOT_FOUND = "not_found"  # MBI invalid or beneficiary not found: INVALID_BENEFICIARY
    NAME_MISMATCH = "name_mismatch"  # BENEFICIARY_MISMATCH
    DOB_MISMATCH = "dob_mismatch"  # BENEFICIARY_MISMATCH
    DATE_OUTSIDE = "date_outside"  # ask again for today's date
    BUSY = "busy"  # retry; then PEER_UNAVAILABLE
    SUBMITTER = "submitter"  # PEER_UNAVAILABLE plus an ops alert; never the beneficiary's fault


_SUBSCRIBER_CODES: dict[str, AaaMeaning] = {
    **dict.fromkeys(("72", "75", "67"), AaaMeaning.NOT_FOUND),
    **dict.fromkeys(("73", "65"), AaaMeaning.NAME_MISMATCH),
    **dict.fromkeys(("71", "58", "60"), AaaMeaning.DOB_MISMATCH),
    **dict.fromkeys(("56", "57", "62", "63"), AaaMeaning.DATE_OUTSIDE),
}
_BUSY_CODES = frozenset({"42", "80"})

# When one answer carries several AAAs, the one that decides what to do next comes first.
_PRECEDENCE = (
    AaaMeaning.BUSY,
    AaaMeaning.SUBMITTER,
    AaaMeaning.NOT_FOUND,
    AaaMeaning.DATE_OUTSIDE,
    AaaMeaning.NAME_MISMATCH,
    AaaMeaning.DOB_MISMATCH,
)


def aaa_meaning(loop: str, code: str) -> AaaMeaning:
    """What one AAA (its loop and AAA03) means for the packet.

    A subscriber-loop code the table does not list is treated like a set-up problem: nothing says it is
    the beneficiary's fault, so a person looks at it (PEER_UNAVAILABLE) and ops are told.
    """
    code = code.strip().upper()
    if code in _BUSY_CODES:
        return AaaMeaning.BUSY
    if loop == SUBSCRIBER_LOOP and code in _SUBSCRIBER_CODES:
        return _SUBSCRIBER_CODES[code]
    return AaaMeaning.SUBMITTER


def aaa_meanings(rejections: Iterable[tuple[str, str]]) -> list[AaaMeaning]:
    """The distinct meanings of an answer's AAAs (loop, code), the deciding one first."""
    found = {aaa_meaning(loop, code) for loop, code in rejections}
    return [m for m in _PRECEDENCE if m in found]
