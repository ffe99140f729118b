"""What letters' use cases refuse, in the domain's words; `entrypoints/deps.py` maps each kind to HTTP."""

from __future__ import annotations

from typing import Any


class Refused(Exception):
    title = "Refused"

    def __init__(self, code: str, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(code)
        self.code, self.detail, self.errors = code, detail, errors


class NotFound(Refused):
    title = "Not found"


class Invalid(Refused):
    title = "Invalid request"


class NotAllowed(Refused):
    """The set's status or version does not allow it now."""

    title = "Not allowed now"


class Forbidden(Refused):
    title = "Forbidden"


class NotYet(Exception):
    """What a letter is built from has not arrived yet (e.g. clinical's determination): try again later."""


class Conflict(Exception):
    """Someone else changed the set meanwhile: try again."""
