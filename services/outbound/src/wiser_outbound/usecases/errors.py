"""Refusals in the domain's words; the entrypoints map them to problem+json."""

from __future__ import annotations


class Refused(Exception):
    code = "REFUSED"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(Refused):
    code = "NOT_FOUND"


class NotAllowed(Refused):
    code = "NOT_ALLOWED"


class Invalid(Refused):
    code = "INVALID"
