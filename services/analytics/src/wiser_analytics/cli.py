"""`python -m wiser_analytics <command>`: migrate, serve, dlq, and rebuild (replay intake's history export)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from wiser_contracts import topology
from wiser_servicekit.cli import Command, ServiceCli

from .config import Settings

SERVICE_ROOT = Path(__file__).resolve().parents[2]


async def _rebuild(settings: Any, args: argparse.Namespace) -> None:
    import httpx

    from wiser_servicekit.db import make_engine, make_sessionmaker

    from .adapters.intake import HistoryClient
    from .adapters.store import SqlReadModel
    from .usecases.rebuild import rebuild

    engine = make_engine(settings.database_url, settings.db_schema, 2)
    async with httpx.AsyncClient(timeout=settings.peer_timeout) as http:
        client = HistoryClient(
            settings.intake_ops_url,
            settings.history_export_path,
            settings.signing_key(),
            settings.identity_issuer,
            http,
        )
        result = await rebuild(SqlReadModel(make_sessionmaker(engine)), client, settings.history_page_size, "cli")
    await engine.dispose()
    print(f"analytics: rebuilt {result['packets']} packets from {result['history_rows']} history rows")


CLI = ServiceCli(
    "analytics",
    Settings,
    SERVICE_ROOT,
    consumer=topology.ANALYTICS,
    outbox="wiser_analytics.adapters.tables:outbox",
    extra={"rebuild": Command("replay intake's history export into fresh read models", _rebuild)},
)


def main(argv: list[str] | None = None) -> int:
    return CLI.main(argv)


if __name__ == "__main__":
    sys.exit(main())
