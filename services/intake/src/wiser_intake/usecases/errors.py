"""What intake's use cases refuse, in the domain's words (the kinds are servicekit's); `entrypoints/deps.py`
maps each kind to HTTP."""

from __future__ import annotations

from wiser_servicekit.refusals import Forbidden, Invalid, Malformed, NotFound, Refused, Stale, TooMany, Unavailable
from wiser_servicekit.refusals import NotAllowed as _NotAllowed


class NotAllowed(_NotAllowed):
    """The packet's state or the rules do not allow it now."""

    title = "Transition not allowed"


def packet_not_found() -> NotFound:
    return NotFound("PACKET_NOT_FOUND", "No such packet.")


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
    "packet_not_found",
]
