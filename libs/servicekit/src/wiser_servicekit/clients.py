"""Who is calling: the client's address (X-Forwarded-For believed only from configured proxies), and a small
pool that runs password and secret hashes off the event loop."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

T = TypeVar("T")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=32)
def proxy_networks(setting: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in setting.split(",") if part.strip())


def _in(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(peer: str | None, forwarded_for: str | None, trusted_proxies: str) -> str:
    """The client's address. X-Forwarded-For is read right to left only while the hop that added it is a trusted
    proxy: the first address not ours is the client (a client cannot prepend its way past the proxies)."""
    address = peer or "unknown"
    networks = proxy_networks(trusted_proxies)
    if not networks or not forwarded_for or not _in(address, networks):
        return address
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return address  # a malformed chain: believe only the peer
        address = hop
        if not _in(hop, networks):
            return hop
    return address


def request_address(request: Any, trusted_proxies: str) -> str:
    """client_address for a Starlette request."""
    peer = request.client.host if request.client else None
    return client_address(peer, request.headers.get("x-forwarded-for"), trusted_proxies)


class HashPool:
    """Runs CPU-heavy hashes in threads, a few at a time: a flood of sign-ins waits here, not on the event loop
    and not in every thread of the default executor."""

    def __init__(self, concurrency: int = 2) -> None:
        self._slots = asyncio.Semaphore(concurrency)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        async with self._slots:
            return await asyncio.to_thread(fn, *args)
