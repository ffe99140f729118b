"""What both of intake's HTTP surfaces use: the use-case context, role groups, shared request bodies."""

from __future__ import annotations

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field

from wiser_contracts import roles

from ..usecases.context import Intake

STAFF = roles.PEOPLE
READERS = roles.ALL
CORRECTORS = roles.CORRECTORS
DISMISSERS = roles.DISMISSERS


def ctx_of(request: Request) -> Intake:
    return request.app.state.intake  # type: ignore[no-any-return]


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=1000)
