"""The HTTP client a service calls its peers with (intake's ops API, letters, HETS, NPPES, PECOS, providers).

httpx keeps only 20 idle connections by default: a consumer working on 32 packets at once, each asking a peer or
two, kept opening and closing connections (a TCP handshake and a new server-side protocol object each time, on
both sides). This client keeps as many idle connections as it may open, a little shorter than uvicorn's
5-second keep-alive, so a connection the server is about to close is not reused.
"""

from __future__ import annotations

from typing import Any

import httpx

MAX_CONNECTIONS = 100
KEEPALIVE_SECONDS = 4.0


def peer_client(timeout: float | httpx.Timeout | None = 10.0, **kwargs: Any) -> httpx.AsyncClient:
    limits = httpx.Limits(
        max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS, keepalive_expiry=KEEPALIVE_SECONDS
    )
    return httpx.AsyncClient(timeout=timeout, limits=limits, **kwargs)
