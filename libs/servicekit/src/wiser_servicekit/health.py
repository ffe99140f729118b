"""/health/live, /health/ready and /metrics for every service."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

Check = Callable[[], Awaitable[object]]


def health_router(checks: dict[str, Check], timeout: float = 3.0) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/health/ready")
    async def ready() -> JSONResponse:
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await asyncio.wait_for(check(), timeout)
                results[name] = "ok"
            except Exception as e:
                results[name] = f"failing: {type(e).__name__}"
        ok = all(v == "ok" for v in results.values())
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "checks": results}, status_code=200 if ok else 503
        )

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def standard_checks(sessions: Any, broker: Any) -> dict[str, Check]:
    """Readiness of what every service has: its database and the broker."""
    from sqlalchemy import text

    async def database() -> None:
        async with sessions() as session:
            await session.execute(text("SELECT 1"))

    async def rabbitmq() -> None:
        if not await broker.ping(timeout=2):
            raise ConnectionError("broker")

    return {"database": database, "broker": rabbitmq}
