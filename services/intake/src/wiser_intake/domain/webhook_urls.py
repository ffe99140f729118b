"""Which webhook URLs a partner may register (no I/O: the caller resolves the host's addresses).

Outside dev and test only https, and never an address inside our network or the cloud's: private, loopback,
link-local (the metadata service at 169.254.169.254 among them), carrier-grade NAT, multicast, reserved, or a
name that means one (localhost, *.internal, *.local). In dev and test, http too, and the hosts of the
configured allow-list (the sandbox's and the tests' receivers) whatever their address.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
INTERNAL_NAMES = ("localhost", "metadata", "metadata.google.internal")
INTERNAL_SUFFIXES = (".localhost", ".internal", ".local", ".localdomain", ".home.arpa")


class WebhookUrlRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    literal: ipaddress.IPv4Address | ipaddress.IPv6Address | None  # the host, when it is an address


def refused_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip in METADATA or not ip.is_global or ip.is_multicast


def parse(url: str, *, dev: bool) -> Target:
    """The URL's host and port, or WebhookUrlRefused for a scheme, form or name that is never allowed."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise WebhookUrlRefused("URL_INVALID", "not a valid URL") from e
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise WebhookUrlRefused("URL_INVALID", "use an https URL with a host")
    if parts.scheme == "http" and not dev:
        raise WebhookUrlRefused("HTTPS_REQUIRED", "use https")
    if parts.username or parts.password:
        raise WebhookUrlRefused("URL_INVALID", "no credentials in the URL")
    host = parts.hostname.rstrip(".").lower()
    try:
        literal: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    return Target(host, port or (443 if parts.scheme == "https" else 80), literal)


def allowed_in_dev(target: Target, allow_list: str) -> bool:
    """The host (or host:port) is on the dev allow-list."""
    entries = {e.strip().lower() for e in allow_list.split(",") if e.strip()}
    return target.host in entries or f"{target.host}:{target.port}" in entries


def check_addresses(target: Target, resolved: list[str]) -> None:
    """Refuse a host that names, or resolves to, an internal address."""
    if target.host in INTERNAL_NAMES or target.host.endswith(INTERNAL_SUFFIXES):
        raise WebhookUrlRefused("ADDRESS_NOT_ALLOWED", "the host is internal")
    addresses = [target.literal] if target.literal is not None else []
    for a in resolved:
        try:
            addresses.append(ipaddress.ip_address(a.split("%", 1)[0]))
        except ValueError:
            continue
    if any(refused_address(ip) for ip in addresses):
        raise WebhookUrlRefused(
            "ADDRESS_NOT_ALLOWED", "the host is a private, loopback, link-local or metadata address"
        )
