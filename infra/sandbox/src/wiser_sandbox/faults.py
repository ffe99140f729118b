"""Fault injection: one fault per peer, applied by an ASGI middleware before the peer's route runs."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass, replace
from typing import Literal

from starlette.types import ASGIApp, Receive, Scope, Send

Peer = Literal["hets", "nppes", "pecos", "mac", "fax", "mail", "esmd", "email"]
Mode = Literal["down", "slow", "error", "reject", "late"]
SourceLoop = Literal["2000A", "2100A", "2100B"]
PEERS: tuple[Peer, ...] = ("hets", "nppes", "pecos", "mac", "fax", "mail", "esmd", "email")
# request.state.sandbox_fault tells the HETS route what to answer: "error" AAA 42, ("reject", loop, code) that AAA.
STATE_KEY = "sandbox_fault"


@dataclass
class Fault:
    peer: Peer
    mode: Mode
    remaining: int | None  # None: until cleared
    delay_seconds: float = 5.0
    aaa_loop: SourceLoop = "2000A"  # reject mode (HETS): where the AAA sits
    aaa_code: str = "79"  # reject mode (HETS): its AAA03, e.g. 41, 43, 79, T4

    def as_dict(self) -> dict[str, object]:
        shown = asdict(self)
        if self.mode != "reject":
            del shown["aaa_loop"], shown["aaa_code"]
        return shown


class Faults:
    """The faults in force. Every request a fault affects uses up one of its ``remaining``."""

    def __init__(self) -> None:
        self._by_peer: dict[str, Fault] = {}

    def set(self, fault: Fault) -> None:
        self._by_peer[fault.peer] = fault

    def clear(self) -> None:
        self._by_peer.clear()

    def all(self) -> list[Fault]:
        return [replace(f) for f in self._by_peer.values()]

    def take(self, peer: str) -> Fault | None:
        fault = self._by_peer.get(peer)
        if fault is None:
            return None
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining <= 0:
                del self._by_peer[peer]
        return replace(fault)


def peer_of(path: str) -> str | None:
    first = path.lstrip("/").split("/", 1)[0]
    return first if first in PEERS else None


class FaultMiddleware:
    """``down``: 503 with no body (or, with ``drop_connections``, headers then a closed connection);
    ``slow``: sleep ``delay_seconds`` then answer; ``error``: 500 (HETS: the route answers AAA 42); ``reject``
    (HETS only): the route answers the fault's AAA at the information source or receiver; ``late``: the peer does
    the work at once and answers after ``delay_seconds`` (a caller that dies meanwhile never hears it happened)."""

    def __init__(self, app: ASGIApp, faults: Faults, drop_connections: bool = False) -> None:
        self.app, self.faults, self.drop_connections = app, faults, drop_connections

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        peer = peer_of(scope["path"]) if scope["type"] == "http" else None
        fault = self.faults.take(peer) if peer else None
        if fault is None:
            await self.app(scope, receive, send)
        elif fault.mode == "slow":
            await asyncio.sleep(fault.delay_seconds)
            await self.app(scope, receive, send)
        elif fault.mode == "late":
            held: list[dict[str, object]] = []

            async def hold(message: dict[str, object]) -> None:
                held.append(message)

            await self.app(scope, receive, hold)  # type: ignore[arg-type]
            await asyncio.sleep(fault.delay_seconds)
            for message in held:
                await send(message)  # type: ignore[arg-type]
        elif fault.mode == "down" and self.drop_connections:
            # A response announcing a body that never comes: uvicorn closes the socket when the app returns.
            await send({"type": "http.response.start", "status": 503, "headers": [(b"content-length", b"1")]})
        elif fault.mode == "down":
            headers = [(b"content-length", b"0"), (b"connection", b"close")]
            await send({"type": "http.response.start", "status": 503, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
        elif peer == "hets":
            what = ("reject", fault.aaa_loop, fault.aaa_code) if fault.mode == "reject" else "error"
            scope.setdefault("state", {})[STATE_KEY] = what
            await self.app(scope, receive, send)
        else:
            body = json.dumps({"detail": f"sandbox fault: {peer} error"}).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 500, "headers": headers})
            await send({"type": "http.response.body", "body": body})
