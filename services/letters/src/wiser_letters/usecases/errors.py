"""What letters' use cases refuse, in the domain's words (the kinds are servicekit's; NotAllowed: the set's
status or version does not allow it now); `entrypoints/http.py` maps each kind to HTTP."""

from __future__ import annotations

from wiser_servicekit.refusals import Forbidden, Invalid, NotAllowed, NotFound, Refused


class NotYet(Exception):
    """What a letter is built from has not arrived yet (e.g. clinical's determination): try again later."""


class Conflict(Exception):
    """Someone else changed the set meanwhile: try again."""


__all__ = ["Conflict", "Forbidden", "Invalid", "NotAllowed", "NotFound", "NotYet", "Refused"]
