"""RFC 9457 problem+json errors for every FastAPI app."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("wiser.problems")
PROBLEM = "application/problem+json"
# asyncpg's refusals of a text value itself (the driver's exception, as SQLAlchemy's DataError wraps it).
UNSTORABLE = frozenset({"CharacterNotInRepertoireError", "UntranslatableCharacterError"})


class Problem(Exception):
    """An error the client can act on; becomes a problem+json response."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        code: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail = status, title, detail
        self.code, self.errors, self.headers = code, errors, headers

    def body(self) -> dict[str, Any]:
        slug = (self.code or self.title).lower().replace(" ", "-").replace("_", "-")
        out: dict[str, Any] = {
            "type": f"https://wiser.example/problems/{slug}",
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            out["detail"] = self.detail
        if self.code:
            out["code"] = self.code
        if self.errors is not None:
            out["errors"] = self.errors
        return out


def problem_response(p: Problem) -> JSONResponse:
    return JSONResponse(p.body(), status_code=p.status, media_type=PROBLEM, headers=p.headers)


def validation_errors(
    exc_errors: list[Any], strip: tuple[str, ...] = ("body", "query", "path", "header")
) -> list[dict[str, Any]]:
    errors = []
    for e in exc_errors:
        loc = [str(x) for x in e.get("loc", ()) if str(x) not in strip]
        errors.append(
            {"field": ".".join(loc), "code": str(e.get("type", "invalid")).upper(), "message": e.get("msg", "")}
        )
    return errors


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(
            Problem(
                422,
                "Invalid request",
                "The request does not match the schema.",
                code="VALIDATION_FAILED",
                errors=validation_errors(list(exc.errors())),
            )
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(Problem(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None)))

    @app.exception_handler(DataError)
    async def _unstorable(_: Request, exc: DataError) -> JSONResponse:
        # A text value PostgreSQL cannot hold (a NUL character, say) is the client's to fix, not a 500.
        if type(exc.orig).__name__ in UNSTORABLE or "invalid byte sequence" in str(exc.orig):
            return problem_response(
                Problem(
                    422,
                    "Invalid request",
                    "A value holds characters that cannot be stored (NUL or control characters).",
                    code="INVALID_CHARACTERS",
                )
            )
        log.exception("unhandled database error")
        return problem_response(Problem(500, "Internal error", "Something went wrong on our side."))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return problem_response(Problem(500, "Internal error", "Something went wrong on our side."))
