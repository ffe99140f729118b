"""The edge of the running processes: a 2 GB chunked body to any route of intake and the gateway is refused with
413 while the process's resident memory grows by less than 50 MB; the ops API answers only on its own port."""

from __future__ import annotations

import re
import select
import socket
import threading
import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx

GB, MB = 2**30, 2**20
CHUNK = b"0" * (64 * 1024)
FRAME = b"%x\r\n" % len(CHUNK) + CHUNK + b"\r\n"


def rss(pid: int) -> int:
    """Resident memory of a process, in bytes, from /proc."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class PeakRss(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, rss(pid), threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.01):
            self.peak = max(self.peak, rss(self.pid))


def flood(base: str, method: str, path: str, content_type: str, preamble: bytes = b"", total: int = 2 * GB) -> int:
    """Send up to `total` bytes as a chunked body, stop as soon as the server answers; its status."""
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    with socket.create_connection((host, port), timeout=30) as s:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: {content_type}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
        ).encode()
        s.sendall(head + (b"%x\r\n" % len(preamble) + preamble + b"\r\n" if preamble else b""))
        sent = 0
        while sent < total:
            readable, _, _ = select.select([s], [], [], 0)
            if readable:
                break
            try:
                s.sendall(FRAME)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(CHUNK)
        assert sent < total, "the whole 2 GB went in"
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                got = s.recv(65536)
                if not got:
                    break
                data += got
        except ConnectionResetError:
            pass
    match = re.match(rb"HTTP/1\.1 (\d{3})", data)
    assert match, data[:200]
    return int(match.group(1))


def _routes(spec: dict[str, Any]) -> list[tuple[str, str]]:
    some = str(uuid.uuid4())
    out = []
    for path, ops in spec["paths"].items():
        for method in ops:
            if method in ("get", "post", "put", "patch", "delete"):
                out.append((method.upper(), re.sub(r"\{[^}]+\}", some, path)))
    return out


def _multipart_head(boundary: str) -> bytes:
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="packet"\r\n\r\n{{}}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="documents"; filename="huge.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n%PDF-1.4\n"
    ).encode()


def _refused_everywhere(pid: int, targets: list[tuple[str, str, str, str, bytes]]) -> tuple[int, list[Any]]:
    sampler = PeakRss(pid)
    baseline = sampler.peak
    sampler.start()
    wrong = []
    try:
        for base, method, path, content_type, preamble in targets:
            status = flood(base, method, path, content_type, preamble)
            if status != 413:
                wrong.append((method, path, content_type, status))
    finally:
        sampler.stop.set()
        sampler.join()
    return sampler.peak - baseline, wrong


async def test_a_2gb_chunked_body_to_any_route_of_intake_is_refused_without_growing_memory(full_system) -> None:
    async with httpx.AsyncClient(timeout=30) as c:
        partner_spec = (await c.get(f"{full_system.url}/openapi.json")).json()
        ops_spec = (await c.get(f"{full_system.ops_url}/api/v1/ops/openapi.json")).json()
        # Warm the paths once (imports, pools), so what grows afterwards is what the floods cost.
        await c.post(f"{full_system.url}/api/v1/packets", content=b"{}", headers={"content-type": "application/json"})
    targets = [(full_system.url, m, p, "application/json", b"") for m, p in _routes(partner_spec)]
    targets += [(full_system.ops_url, m, p, "application/json", b"") for m, p in _routes(ops_spec)]
    targets += [
        (full_system.url, "POST", "/nowhere", "application/json", b""),
        (full_system.url, "POST", "/oauth/token", "application/x-www-form-urlencoded", b""),
    ]
    boundary = "edge-test-boundary"
    for path in ("/api/v1/packets", f"/api/v1/packets/{uuid.uuid4()}/documents"):
        targets.append(
            (full_system.url, "POST", path, f"multipart/form-data; boundary={boundary}", _multipart_head(boundary))
        )
    assert len(targets) > 15
    growth, wrong = _refused_everywhere(full_system.named["intake"].pid, targets)
    assert wrong == []
    assert growth < 50 * MB, f"intake grew by {growth / MB:.1f} MB"


async def test_a_2gb_chunked_body_to_any_route_of_the_gateway_is_refused_without_growing_memory(full_system) -> None:
    base = full_system.gateway_url
    async with httpx.AsyncClient(timeout=30) as c:
        await c.get(f"{base}/signin")
    some = uuid.uuid4()
    routes = [
        ("POST", "/signin"),
        ("POST", "/signout"),
        ("GET", "/packets"),
        ("GET", f"/packets/{some}"),
        ("POST", f"/packets/{some}/corrections"),
        ("POST", f"/packets/{some}/dismiss"),
        ("POST", "/admin/users"),
        ("PUT", "/nowhere"),
    ]
    targets = [(base, m, p, "application/x-www-form-urlencoded", b"") for m, p in routes]
    targets.append((base, "POST", "/signin", "multipart/form-data; boundary=x", b""))
    growth, wrong = _refused_everywhere(full_system.named["gateway"].pid, targets)
    assert wrong == []
    assert growth < 50 * MB, f"the gateway grew by {growth / MB:.1f} MB"


async def test_the_ops_api_and_metrics_answer_only_on_the_ops_port(full_system) -> None:
    staff = full_system.staff("supervisor")
    async with httpx.AsyncClient(timeout=30) as c:
        assert (await c.get(f"{full_system.ops_url}/api/v1/ops/packets/counts", headers=staff)).status_code == 200
        assert (await c.get(f"{full_system.url}/api/v1/ops/packets/counts", headers=staff)).status_code == 404
        assert (await c.get(f"{full_system.ops_url}/metrics")).status_code == 200
        assert (await c.get(f"{full_system.url}/metrics")).status_code == 404
        assert (await c.get(f"{full_system.ops_url}/oauth/token")).status_code == 404
        partner = (await c.get(f"{full_system.url}/openapi.json")).json()
        assert "/oauth/token" in partner["paths"] and not any(p.startswith("/api/v1/ops") for p in partner["paths"])
        for url in (full_system.url, full_system.ops_url):
            assert (await c.get(f"{url}/health/ready")).status_code == 200


async def _sign_in(c: httpx.AsyncClient, username: str, password: str, address: str) -> httpx.Response:
    page = await c.get("/signin", headers={"X-Forwarded-For": address})
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text[:500]
    return await c.post(
        "/signin",
        data={"username": username, "password": password, "csrf_token": match.group(1), "next": "/packets"},
        headers={"X-Forwarded-For": address},
    )


async def test_gateway_sign_in_locks_a_name_out_from_one_address_only_and_answers_alike(full_system) -> None:
    async with httpx.AsyncClient(base_url=full_system.gateway_url, timeout=30) as c:
        answers: dict[str, list[int]] = {}
        for name in ("medical_director", "nobody-by-this-name"):
            answers[name] = [(await _sign_in(c, name, "wrong", "203.0.113.50")).status_code for _ in range(5)]
            locked = await _sign_in(c, name, "demo-password", "203.0.113.50")
            answers[name].append(locked.status_code)
            assert "Too many failed attempts" in locked.text and int(locked.headers["Retry-After"]) > 60
        assert answers["medical_director"] == answers["nobody-by-this-name"] == [401, 401, 401, 401, 423, 423]
        # The same person, from their own address, signs in.
        ok = await _sign_in(c, "medical_director", "demo-password", "198.51.100.30")
        assert ok.status_code == 303 and ok.headers["location"] == "/packets"
        # A spoofed X-Forwarded-For from a client that is not a proxy would not have helped: only 127.0.0.1 is one.
