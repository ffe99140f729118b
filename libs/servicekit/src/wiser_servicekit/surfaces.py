"""One app, two listeners: a public port and an internal one (intake's partner API on 8001, its ops API and
/metrics on 8101), so a network policy can keep the internal port inside the cluster.

A request that arrives on the public port for an internal path, or on the internal port for a public path, is
answered 404 as if the route did not exist. /health/* answers on both (probes). A request that arrived on
neither port (an in-process test transport) is served whole.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

from .limits import send_problem

BOTH = ("/health/",)


class PortSurfaces:
    def __init__(
        self,
        app: ASGIApp,
        *,
        public_port: int,
        internal_port: int,
        internal_prefixes: Sequence[str],
        both: Sequence[str] = BOTH,
    ) -> None:
        self.app, self.public_port, self.internal_port = app, public_port, internal_port
        self.internal_prefixes, self.both = tuple(internal_prefixes), tuple(both)

    def is_internal(self, path: str) -> bool:
        return any(path == p or path.startswith(p.rstrip("/") + "/") for p in self.internal_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            server = scope.get("server") or (None, None)
            port = server[1] if len(server) > 1 else None
            path = scope.get("path", "")
            if port in (self.public_port, self.internal_port) and not path.startswith(self.both):
                if self.is_internal(path) != (port == self.internal_port):
                    await send_problem(send, 404, "Not found", "No such route on this port.", "NOT_FOUND")
                    return
        await self.app(scope, receive, send)
