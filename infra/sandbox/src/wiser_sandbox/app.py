"""The sandbox FastAPI app: routes only; the peers' logic is in hets.py and peers.py."""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field, model_validator

from wiser_x12 import X12Error

from . import hets, peers, providers
from .faults import STATE_KEY, Fault, FaultMiddleware, Faults, Mode, Peer, SourceLoop
from .fixtures import fixtures_dir as default_fixtures_dir
from .fixtures import load

X12_MEDIA_TYPE = "application/EDI-X12"


class FaultIn(BaseModel):
    peer: Peer
    mode: Mode
    count: int | None = Field(default=None, ge=1, description="requests affected; omitted = until cleared")
    delay_seconds: float = Field(default=5.0, ge=0, le=600, description="slow mode only")
    aaa_loop: SourceLoop = Field(default="2000A", description="reject mode (HETS only): the loop of the AAA")
    aaa_code: str = Field(default="79", pattern=r"^[0-9A-Z]{2}$", description="reject mode (HETS only): AAA03")

    @model_validator(mode="after")
    def _reject_is_hets_only(self) -> FaultIn:
        if self.mode == "reject" and self.peer != "hets":
            raise ValueError("reject mode is HETS's AAA answers: peer must be hets")
        return self


class BeneficiaryIn(BaseModel):
    """A synthetic beneficiary HETS should know, in the shape of shared/fixtures/beneficiaries.json."""

    mbi: str = Field(pattern=r"^[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9]"
                     r"[AC-HJKMNP-RT-Y]{2}[0-9]{2}$")  # fmt: skip
    first_name: str = Field(min_length=1, max_length=35)
    last_name: str = Field(min_length=1, max_length=60)
    date_of_birth: date
    gender: Literal["F", "M", "U"] = "U"
    state: str = Field(pattern=r"^[A-Z]{2}$")
    status: Literal["eligible", "part_a_only", "medicare_advantage", "deceased", "railroad", "medicaid_only"] = (
        "eligible"
    )
    part_a_effective: date | None = None
    part_b_effective: date | None = None


class BeneficiariesIn(BaseModel):
    beneficiaries: list[BeneficiaryIn] = Field(min_length=1, max_length=20_000)


class UtnIn(BaseModel):
    packet_id: str = Field(min_length=1)
    state: str = Field(min_length=2, max_length=2)
    outcome: str = Field(min_length=1)


def create_app(
    fixtures_dir: Path | None = None,
    *,
    drop_connections: bool = False,
    smtp_port: int | None = None,
    smtp_host: str = "127.0.0.1",
) -> FastAPI:
    """The sandbox app over the fixtures in ``fixtures_dir`` (default: ``WISER_FIXTURES_DIR`` or shared/fixtures).

    ``drop_connections`` makes the ``down`` fault close the connection mid-response (served by uvicorn);
    otherwise ``down`` answers 503 with no body, which is what an in-process ASGI client can see.
    """
    fx = load(fixtures_dir or default_fixtures_dir())
    fixture_mbis = frozenset(fx.beneficiaries)
    # The information receivers HETS has an agreement with (2100B NPIs), e.g. a deployment's own.
    configured = os.environ.get("WISER_SANDBOX_HETS_RECEIVER_NPIS", "")
    receivers = frozenset(n.strip() for n in configured.split(",") if n.strip()) or hets.REGISTERED_RECEIVERS
    faults = Faults()
    interchanges = itertools.count(1)
    utns: dict[str, str] = {}

    # Outbound's providers (providers.py) and, when served, the SMTP server (smtp.py).
    recorder, email_log = providers.Recorder(), {}  # type: ignore[var-annotated]

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        smtp = None
        if smtp_port:
            from .smtp import SmtpServer

            smtp = SmtpServer(recorder, email_log, faults, smtp_port, smtp_host)
            smtp.start()
        try:
            yield
        finally:
            if smtp is not None:
                smtp.stop()

    app = FastAPI(title="WISeR sandbox peers", description=__doc__, lifespan=lifespan)
    app.add_middleware(FaultMiddleware, faults=faults, drop_connections=drop_connections)
    app.include_router(providers.router(recorder, email_log))
    app.state.recorder, app.state.email_log, app.state.faults = recorder, email_log, faults

    @app.post("/hets/270", tags=["hets"])
    async def hets_270(request: Request) -> Response:
        text = (await request.body()).decode("latin-1")
        fault = getattr(request.state, STATE_KEY, None)
        reject = (fault[1], fault[2]) if isinstance(fault, tuple) else None
        try:
            control = (next(interchanges) - 1) % 999_999_999 + 1  # ISA13 is 1..999999999
            now = datetime.now(UTC)
            body = hets.answer(
                text, fx, control=control, now=now, unable=fault == "error", reject=reject, receivers=receivers
            )
        except X12Error as exc:
            return PlainTextResponse(f"999 R: 270 rejected: {exc}\n", status_code=400)
        return Response(body, media_type=X12_MEDIA_TYPE)

    @app.get("/nppes/api/", tags=["nppes"])
    async def nppes_api(version: str | None = None, number: str | None = None) -> dict[str, Any]:
        return peers.nppes(fx, version, number)

    @app.get("/pecos/enrollments/{npi}", tags=["pecos"])
    async def pecos_enrollment(npi: str) -> JSONResponse:
        enrollment = peers.pecos(fx, npi)
        if enrollment is None:
            return JSONResponse({"detail": f"no PECOS enrollment record for NPI {npi}"}, status_code=404)
        return JSONResponse(enrollment)

    @app.post("/mac/utn", tags=["mac"])
    async def mac_utn(body: UtnIn) -> JSONResponse:
        if body.packet_id not in utns:
            if body.state not in peers.JURISDICTIONS:
                return JSONResponse({"detail": f"state {body.state} is not in a WISeR MAC jurisdiction"}, 422)
            utns[body.packet_id] = peers.utn(body.packet_id, body.state, datetime.now(UTC).year)
        return JSONResponse({"utn": utns[body.packet_id]})

    @app.post("/_sandbox/faults", tags=["sandbox"])
    async def set_fault(body: FaultIn) -> dict[str, Any]:
        fault = Fault(body.peer, body.mode, body.count, body.delay_seconds, body.aaa_loop, body.aaa_code)
        faults.set(fault)
        return fault.as_dict()

    @app.get("/_sandbox/faults", tags=["sandbox"])
    async def list_faults() -> dict[str, Any]:
        return {"faults": [f.as_dict() for f in faults.all()]}

    @app.delete("/_sandbox/faults", tags=["sandbox"])
    async def clear_faults() -> dict[str, Any]:
        faults.clear()
        return {"faults": []}

    @app.post("/_sandbox/beneficiaries", tags=["sandbox"])
    async def add_beneficiaries(body: BeneficiariesIn) -> JSONResponse:
        """Teach HETS more synthetic people (a bench's or a test's own), kept until the sandbox restarts."""
        for b in body.beneficiaries:
            if b.mbi in fixture_mbis:
                return JSONResponse({"detail": f"{b.mbi} is a shared fixture; it cannot be replaced"}, 409)
        for b in body.beneficiaries:
            fx.beneficiaries[b.mbi] = b.model_dump(mode="json")
        return JSONResponse({"added": len(body.beneficiaries), "beneficiaries": len(fx.beneficiaries)})

    @app.get("/health/live", tags=["health"])
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready", tags=["health"])
    async def ready() -> dict[str, Any]:
        counts = {"beneficiaries": len(fx.beneficiaries), "providers": len(fx.practitioners) + len(fx.facilities)}
        return {"status": "ok", "checks": {"fixtures": "ok"}, **counts}

    return app
