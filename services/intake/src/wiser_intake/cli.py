"""`python -m wiser_intake <command>`: migrate, serve, relay, seed-demo, dlq."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from wiser_servicekit.messaging import BUS_ACTIONS
from wiser_servicekit.settings import load_settings

from .config import Settings

SERVICE_ROOT = Path(__file__).resolve().parents[2]


def _migrate(settings: Settings) -> None:
    from wiser_contracts import topology
    from wiser_servicekit.migrate import migrate

    migrate(settings, SERVICE_ROOT, topology.INTAKE)
    print("intake: migrated")


def _serve(settings: Settings) -> None:
    import uvicorn

    from .bootstrap import create_app

    options: dict[str, Any] = {
        "host": settings.http_host,
        "port": settings.http_port,
        "log_config": None,
        "proxy_headers": False,
    }
    if settings.workers > 1:
        # Each worker is a full replica: its own consumers and outbox relay (SKIP LOCKED keeps them apart).
        uvicorn.run("wiser_intake.bootstrap:create_app", factory=True, workers=settings.workers, **options)
    else:
        uvicorn.run(create_app(settings), **options)


async def _relay(settings: Settings) -> None:
    """Run only the outbox relay (for deployments that separate it from the API)."""
    from wiser_servicekit.bus import Publisher
    from wiser_servicekit.db import make_engine, make_sessionmaker
    from wiser_servicekit.logs import setup_logging
    from wiser_servicekit.outbox import OutboxRelay, asyncpg_dsn

    from .adapters.tables import outbox

    setup_logging("intake-relay", settings.log_level)
    engine = make_engine(settings.database_url, settings.db_schema, 2)
    publisher = Publisher(settings.amqp_url, "intake")
    relay = OutboxRelay("intake", make_sessionmaker(engine), outbox, publisher, asyncpg_dsn(settings.database_url))
    try:
        await relay.run()
    finally:
        await publisher.close()
        await engine.dispose()


async def _seed(settings: Settings, fixtures: Path, packets: bool) -> None:
    from .seed import seed_demo

    out = await seed_demo(settings, fixtures, packets)
    print(json.dumps(out, indent=2))


async def _dlq(settings: Settings, action: str) -> None:
    from wiser_contracts import topology
    from wiser_servicekit.messaging import bus_command

    from .adapters.tables import outbox

    await bus_command(settings, topology.INTAKE, outbox, action)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wiser_intake")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create the intake role and schema, apply migrations")
    sub.add_parser("serve", help="serve the HTTP API, consumers and outbox relay")
    sub.add_parser("relay", help="run only the outbox relay")
    seed = sub.add_parser("seed-demo", help="seed the demo partner and packets (WISER_ENV=dev only)")
    seed.add_argument("--partner-only", action="store_true", help="seed the demo partner but no packets")
    seed.add_argument(
        "--fixtures",
        type=Path,
        default=Path(os.environ.get("WISER_FIXTURES_DIR", SERVICE_ROOT.parents[2] / "shared" / "fixtures")),
    )
    dlq = sub.add_parser("dlq", help="parked messages, wiser.unrouted and parked outbox rows: list or replay")
    dlq.add_argument("action", choices=BUS_ACTIONS)
    args = parser.parse_args(argv)
    settings = load_settings(Settings)
    if args.command == "migrate":
        _migrate(settings)
    elif args.command == "serve":
        _serve(settings)
    elif args.command == "relay":
        asyncio.run(_relay(settings))
    elif args.command == "seed-demo":
        asyncio.run(_seed(settings, args.fixtures, not args.partner_only))
    elif args.command == "dlq":
        asyncio.run(_dlq(settings, args.action))
    return 0


if __name__ == "__main__":
    sys.exit(main())
