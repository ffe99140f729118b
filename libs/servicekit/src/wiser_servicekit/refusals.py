"""What a service's use cases refuse, in the domain's words: one set of kinds for every service, each service's
`entrypoints` mapping a kind to its HTTP status and problem+json. No HTTP here: use cases raise these."""

from __future__ import annotations

from typing import Any


class Refused(Exception):
    """A use case said no: a machine-readable code, a sentence, and per-field errors where they help."""

    title = "Refused"

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        title: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        model_errors: list[Any] | None = None,  # pydantic's, worded per field by the entrypoint
    ) -> None:
        super().__init__(code)
        self.code, self.detail, self.errors, self.model_errors = code, detail, errors, model_errors
        if title:
            self.title = title


class NotFound(Refused):
    title = "Not found"


class Invalid(Refused):
    """The input cannot be used (a field, a sort, an idempotency key reused with another body)."""

    title = "Invalid request"


class Malformed(Refused):
    """The input is not something this API issued (e.g. a cursor)."""

    title = "Bad request"


class NotAllowed(Refused):
    """The state of what is acted on, or the rules, do not allow it now."""

    title = "Not allowed now"


class Forbidden(Refused):
    title = "Forbidden"


class Stale(Refused):
    """The caller acted on a version that is gone."""

    title = "Version mismatch"


class TooMany(Refused):
    title = "Too many"


class Unavailable(Refused):
    """A peer the use case needs (e.g. validation's reference data) cannot be reached: try again shortly."""

    title = "Service unavailable"
