"""What clinical's use cases refuse, in the domain's words (the kinds are servicekit's); `entrypoints/http.py`
maps each kind to HTTP."""

from __future__ import annotations

from wiser_servicekit.refusals import (
    Forbidden,
    Invalid,
    Malformed,
    NotAllowed,
    NotFound,
    Refused,
    Stale,
    TooMany,
    Unavailable,
)


def case_not_found() -> NotFound:
    return NotFound("CASE_NOT_FOUND", "No clinical case for this packet.")


__all__ = [
    "Forbidden",
    "Invalid",
    "Malformed",
    "NotAllowed",
    "NotFound",
    "Refused",
    "Stale",
    "TooMany",
    "Unavailable",
    "case_not_found",
]
