"""`python -m wiser_outbound <command>`: migrate, serve, dlq."""

from __future__ import annotations

import sys
from pathlib import Path

from wiser_contracts import topology
from wiser_servicekit.cli import ServiceCli

from .config import Settings

SERVICE_ROOT = Path(__file__).resolve().parents[2]

CLI = ServiceCli(
    "outbound",
    Settings,
    SERVICE_ROOT,
    consumer=topology.OUTBOUND,
    outbox="wiser_outbound.adapters.tables:outbox",
)


def main(argv: list[str] | None = None) -> int:
    return CLI.main(argv)


if __name__ == "__main__":
    sys.exit(main())
