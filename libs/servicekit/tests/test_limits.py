"""Body limits while the body streams in (before parsing and authentication), and the two-port split."""

from __future__ import annotations

import json
from typing import Any

import httpx
from fastapi import FastAPI, Request
from starlette.datastructures import UploadFile

from wiser_servicekit.limits import MB, BodyLimits, Multipart, UploadRoute
from wiser_servicekit.surfaces import PortSurfaces


def app() -> FastAPI:
    a = FastAPI()
    seen: dict[str, Any] = {"parsed": 0}
    a.state.seen = seen

    @a.post("/json")
    async def take_json(request: Request) -> dict[str, int]:
        seen["parsed"] += 1
        return {"bytes": len(await request.body())}

    @a.post("/private")
    async def private(request: Request) -> dict[str, int]:
        if "authorization" not in request.headers:  # as a route that authenticates before it reads the body
            from fastapi.responses import JSONResponse

            return JSONResponse({"detail": "no"}, status_code=401)  # type: ignore[return-value]
        return {"bytes": len(await request.body())}

    @a.post("/upload")
    async def upload(request: Request) -> dict[str, Any]:
        seen["parsed"] += 1
        form = await request.form(max_files=50, max_part_size=2 * MB)
        files = [f for f in form.getlist("documents") if isinstance(f, UploadFile)]
        return {"files": len(files), "sizes": [f.size for f in files], "packet": form.get("packet")}

    @a.get("/api/v1/ops/thing")
    async def ops_thing() -> dict[str, str]:
        return {"ok": "ops"}

    @a.get("/api/v1/partner-thing")
    async def partner_thing() -> dict[str, str]:
        return {"ok": "partner"}

    @a.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    rule = Multipart(files=3, file_bytes=2 * MB, fields=2, field_bytes=64 * 1024)
    a.add_middleware(BodyLimits, json_bytes=MB, uploads=[UploadRoute("POST", "/upload", rule)])
    a.add_middleware(PortSurfaces, public_port=8001, internal_port=8101, internal_prefixes=("/api/v1/ops", "/metrics"))
    return a


async def _chunks(total: int, size: int = 64 * 1024) -> Any:
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        sent += n
        yield b"x" * n


async def test_json_bodies_up_to_the_limit_pass_and_over_it_are_refused_before_parsing() -> None:
    a = app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://t") as c:
        ok = await c.post("/json", content=b"x" * MB)
        assert ok.status_code == 200 and ok.json() == {"bytes": MB}
        parsed = a.state.seen["parsed"]
        declared = await c.post("/json", content=b"x" * (MB + 1))
        chunked = await c.post("/json", content=_chunks(3 * MB))  # no Content-Length: counted as it streams
        for r in (declared, chunked):
            assert r.status_code == 413
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["code"] == "BODY_TOO_LARGE" and r.json()["status"] == 413
        assert a.state.seen["parsed"] == parsed  # the route never ran


async def test_the_limit_holds_before_authentication_and_on_routes_that_do_not_exist() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app()), base_url="http://t") as c:
        assert (await c.post("/private", content=b"{}")).status_code == 401
        assert (await c.post("/private", content=_chunks(2 * MB))).status_code == 413
        assert (await c.put("/nowhere", content=_chunks(2 * MB))).status_code == 413
        assert (await c.request("GET", "/json", content=_chunks(2 * MB))).status_code == 413


def _multipart(files: list[bytes], fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = "b0undary"
    out = b""
    for name, value in fields.items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    for i, data in enumerate(files):
        out += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="documents"; filename="d{i}.pdf"\r\n'
                "Content-Type: application/pdf\r\n\r\n"
            ).encode()
            + data
            + b"\r\n"
        )
    return out + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


async def test_multipart_limits_per_document_per_field_and_count() -> None:
    a = app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://t") as c:

        async def post(files: list[bytes], fields: dict[str, str]) -> httpx.Response:
            body, ct = _multipart(files, fields)
            return await c.post("/upload", content=body, headers={"content-type": ct})

        ok = await post([b"%PDF" + b"0" * (2 * MB - 4)] * 3, {"packet": json.dumps({"a": 1})})
        assert ok.status_code == 200, ok.text
        assert ok.json()["files"] == 3 and ok.json()["sizes"] == [2 * MB] * 3  # replayed to the app intact
        too_big = await post([b"0" * (2 * MB + 1)], {"packet": "{}"})
        assert too_big.status_code == 413 and too_big.json()["code"] == "DOCUMENT_TOO_LARGE"
        too_many = await post([b"%PDF"] * 4, {"packet": "{}"})
        assert too_many.status_code == 413 and too_many.json()["code"] == "TOO_MANY_DOCUMENTS"
        big_field = await post([], {"packet": "x" * (64 * 1024 + 1)})
        assert big_field.status_code == 413
        # A route without uploads takes multipart within the plain 1 MB only.
        body, ct = _multipart([b"0" * (MB + 10)], {})
        assert (await c.post("/json", content=body, headers={"content-type": ct})).status_code == 413


async def test_the_ops_surface_answers_only_on_its_port_and_the_partner_surface_only_on_its_own() -> None:
    a = app()

    async def get(port: int, path: str) -> int:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url=f"http://t:{port}") as c:
            return (await c.get(path)).status_code

    assert await get(8101, "/api/v1/ops/thing") == 200
    assert await get(8001, "/api/v1/ops/thing") == 404
    assert await get(8001, "/api/v1/partner-thing") == 200
    assert await get(8101, "/api/v1/partner-thing") == 404
    assert await get(8001, "/health/live") == 200 and await get(8101, "/health/live") == 200
