"""Where a partner's URL may point: never at our own network (SSRF).

A webhook URL is resolved and every address it resolves to is checked against the private,
loopback, link-local, shared, multicast, reserved and cloud-metadata ranges. Intake checks at
registration; outbound checks again, after resolving afresh, before every delivery (a name can
be repointed after it was registered). Dev and test may allow named `host:port` pairs (the test's
own receivers on 127.0.0.1); nothing else gets through.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

# Metadata services answer on addresses some of which are not in any private range.
METADATA = tuple(
    ipaddress.ip_network(n)
    for n in (
        "169.254.169.254/32",  # AWS, GCP, Azure, OpenStack
        "fd00:ec2::254/128",  # AWS IPv6
        "100.100.100.200/32",  # Alibaba
        "192.0.0.192/32",  # Oracle
    )
)
SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: not "private" to ipaddress, not public either


class UrlRefused(Exception):
    """The URL may not be called: `code` says why (machine-readable), `str()` says it in words."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]


def address_refusal(address: str) -> str | None:
    """Why this IP address may not be called, or None."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in n for n in METADATA if n.version == ip.version):
        return "METADATA_ADDRESS"
    if ip.is_loopback:
        return "LOOPBACK_ADDRESS"
    if ip.is_link_local:
        return "LINK_LOCAL_ADDRESS"
    if ip.version == 4 and ip in SHARED:
        return "PRIVATE_ADDRESS"
    if ip.is_private or ip.is_multicast or ip.is_reserved or ip.is_unspecified:
        return "PRIVATE_ADDRESS"
    return None


def _split(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlRefused("BAD_URL", "the URL must be http(s) with a host")
    if parts.username or parts.password:
        raise UrlRefused("BAD_URL", "the URL must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as e:
        raise UrlRefused("BAD_URL", "the URL's port is not a number") from e
    return parts.scheme, parts.hostname.lower(), port


def allowed(host: str, port: int, allow: Iterable[str]) -> bool:
    return f"{host}:{port}" in set(allow)


async def resolve(host: str, port: int) -> tuple[str, ...]:
    try:
        ipaddress.ip_address(host)
        return (host,)
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return tuple(sorted({str(info[4][0]) for info in infos}))


async def check_url(url: str, allow: Iterable[str] = (), *, unresolvable_ok: bool = False) -> Target:
    """Resolve the URL's host now and refuse it if any address is ours (or the metadata service's).

    `unresolvable_ok`: a name that does not resolve (yet) passes (registration: every delivery checks again).
    """
    scheme, host, port = _split(url)
    if allowed(host, port, allow):
        return Target(scheme, host, port, ())
    try:
        addresses = await resolve(host, port)
    except OSError as e:
        if unresolvable_ok:
            return Target(scheme, host, port, ())
        raise UrlRefused("UNRESOLVABLE", f"{host} does not resolve") from e
    for address in addresses:
        refusal = address_refusal(address)
        if refusal is not None:
            raise UrlRefused(refusal, f"{host} resolves to an address that may not be called ({refusal.lower()})")
    return Target(scheme, host, port, addresses)
