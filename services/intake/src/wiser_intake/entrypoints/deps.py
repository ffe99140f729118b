"""What both of intake's HTTP surfaces use: the use-case context, role groups, shared request bodies."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from wiser_contracts import roles
from wiser_servicekit.problems import Problem, problem_response, validation_errors

from ..usecases.context import Intake
from ..usecases.errors import (
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

STAFF = roles.PEOPLE
READERS = roles.ALL
CORRECTORS = roles.CORRECTORS
DISMISSERS = roles.DISMISSERS


def content_disposition(kind: str, filename: str) -> str:
    """RFC 6266: an ASCII `filename` for old clients and the real name, any script, as `filename*` (RFC 5987)."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\%' else "_" for c in filename) or "document"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def ctx_of(request: Request) -> Intake:
    return request.app.state.intake  # type: ignore[no-any-return]


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=1000)


STATUS: dict[type[Refused], int] = {
    NotFound: 404,
    Invalid: 422,
    Malformed: 400,
    NotAllowed: 409,
    Forbidden: 403,
    Stale: 412,
    TooMany: 413,
    Unavailable: 503,
}


def as_problem(e: Refused) -> Problem:
    """A use case's refusal as the problem+json the API documents."""
    errors = validation_errors(e.model_errors) if e.model_errors is not None else e.errors
    status = next((code for kind, code in STATUS.items() if isinstance(e, kind)), 400)
    headers = {"Retry-After": "30"} if status == 503 else None
    return Problem(status, e.title, e.detail, code=e.code, errors=errors, headers=headers)


def install_refusals(app: FastAPI) -> None:
    @app.exception_handler(Refused)
    async def _refused(_: Request, e: Refused) -> JSONResponse:
        return problem_response(as_problem(e))
