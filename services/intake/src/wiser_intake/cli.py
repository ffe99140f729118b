"""`python -m wiser_intake <command>`: migrate, serve, dlq (servicekit's), relay and seed-demo (intake's own)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from wiser_contracts import topology
from wiser_servicekit.cli import Command, ServiceCli
from wiser_servicekit.fixtures import fixtures_dir

from .config import Settings

SERVICE_ROOT = Path(__file__).resolve().parents[2]


async def _relay(settings: Settings, _: argparse.Namespace) -> None:
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


async def _seed(settings: Settings, args: argparse.Namespace) -> None:
    from .seed import seed_demo

    out = await seed_demo(settings, args.fixtures, not args.partner_only)
    print(json.dumps(out, indent=2))


async def _sweep(settings: Settings, args: argparse.Namespace) -> None:
    """Delete document objects whose database row never committed (older than --hours)."""
    from datetime import timedelta

    import httpx

    from wiser_servicekit.db import make_engine, make_sessionmaker

    from .bootstrap import bootstrap
    from .usecases.housekeeping import sweep_orphans

    engine = make_engine(settings.database_url, settings.db_schema, 2)
    http = httpx.AsyncClient()
    try:
        ctx = bootstrap(settings, make_sessionmaker(engine), http=http)
        print(json.dumps(await sweep_orphans(ctx, timedelta(hours=args.hours))))
    finally:
        await http.aclose()
        await engine.dispose()


def _sweep_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hours", type=float, default=1.0, help="only objects older than this")


def _seed_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--partner-only", action="store_true", help="seed the demo partner but no packets")
    parser.add_argument(
        "--fixtures",
        type=Path,
        default=fixtures_dir(),
    )


CLI = ServiceCli(
    "intake",
    Settings,
    SERVICE_ROOT,
    consumer=topology.INTAKE,
    outbox="wiser_intake.adapters.tables:outbox",
    workers=lambda settings: settings.workers,
    extra_ports=lambda settings: [settings.ops_port],
    extra={
        "relay": Command("run only the outbox relay", _relay),
        "sweep-documents": Command("delete document objects in S3 whose row never committed", _sweep, _sweep_arguments),
        "seed-demo": Command("seed the demo partner and packets (WISER_ENV=dev only)", _seed, _seed_arguments),
    },
)


def main(argv: list[str] | None = None) -> int:
    return CLI.main(argv)


if __name__ == "__main__":
    sys.exit(main())
