"""`python -m wiser_validation <command>`: migrate, serve, dlq, serve-reference."""

from __future__ import annotations

import sys
from pathlib import Path

from wiser_contracts import topology
from wiser_servicekit.cli import Command, ServiceCli

from .config import Settings

SERVICE_ROOT = Path(__file__).resolve().parents[2]


def serve_reference(settings: Settings, _: object) -> None:
    import uvicorn

    from .bootstrap import create_reference_app

    uvicorn.run(create_reference_app(settings), host=settings.http_host, port=settings.http_port, log_config=None)


CLI = ServiceCli(
    "validation",
    Settings,
    SERVICE_ROOT,
    consumer=topology.VALIDATION,
    outbox="wiser_validation.adapters.tables:outbox",
    extra={"serve-reference": Command("only the reference API, from its files (no database, no bus)", serve_reference)},
)


def main(argv: list[str] | None = None) -> int:
    return CLI.main(argv)


if __name__ == "__main__":
    sys.exit(main())
