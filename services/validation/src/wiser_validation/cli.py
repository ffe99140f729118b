"""`python -m wiser_validation <command>`: migrate, serve, dlq."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from wiser_servicekit.messaging import BUS_ACTIONS
from wiser_servicekit.settings import load_settings

from .config import Settings

SERVICE_ROOT = Path(__file__).resolve().parents[2]


def _serve(settings: Settings) -> None:
    import uvicorn

    from .bootstrap import create_app

    uvicorn.run(
        create_app(settings), host=settings.http_host, port=settings.http_port, log_config=None, proxy_headers=False
    )


async def _dlq(settings: Settings, action: str) -> None:
    from wiser_contracts import topology
    from wiser_servicekit.messaging import bus_command

    from .adapters.tables import outbox

    await bus_command(settings, topology.VALIDATION, outbox, action)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wiser_validation")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create the validation role and schema, apply migrations")
    sub.add_parser("serve", help="serve the HTTP API, consumers and outbox relay")
    dlq = sub.add_parser("dlq", help="parked messages, wiser.unrouted and parked outbox rows: list or replay")
    dlq.add_argument("action", choices=BUS_ACTIONS)
    args = parser.parse_args(argv)
    settings = load_settings(Settings)
    if args.command == "migrate":
        from wiser_contracts import topology
        from wiser_servicekit.migrate import migrate

        migrate(settings, SERVICE_ROOT, topology.VALIDATION)
        print("validation: migrated")
    elif args.command == "serve":
        _serve(settings)
    else:
        asyncio.run(_dlq(settings, args.action))
    return 0


if __name__ == "__main__":
    sys.exit(main())
