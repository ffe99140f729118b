"""Refusals in the domain's words (the kinds are servicekit's); the entrypoints map them to problem+json."""

from __future__ import annotations

from wiser_servicekit.refusals import Invalid, NotAllowed, NotFound, Refused

__all__ = ["Invalid", "NotAllowed", "NotFound", "Refused"]
