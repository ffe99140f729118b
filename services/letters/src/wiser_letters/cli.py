"""`python -m wiser_letters <command>`: migrate, serve, dlq, audit-verify."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wiser_contracts import topology
from wiser_servicekit.cli import Command, ServiceCli

from .config import Settings

SERVICE_ROOT = Path(__file__).resolve().parents[2]


async def verify_read_audit(settings: Settings) -> list[str]:
    """What is wrong with the read audit (views): edited rows, deleted rows, a removed tail."""
    from wiser_servicekit import audit_chain
    from wiser_servicekit.db import make_engine, make_sessionmaker

    from .adapters.tables import VIEWS_CHAINED, views

    engine = make_engine(settings.database_url, settings.db_schema, 1)
    try:
        async with make_sessionmaker(engine)() as session:
            return [str(f) for f in await audit_chain.check(session, views, "letters", VIEWS_CHAINED)]
    finally:
        await engine.dispose()


async def _audit_verify(settings: Settings, _: argparse.Namespace) -> None:
    findings = await verify_read_audit(settings)
    for finding in findings:
        print(finding)
    if findings:
        print(f"read audit: {len(findings)} problem(s)")
        raise SystemExit(1)
    print("read audit: intact")


CLI = ServiceCli(
    "letters",
    Settings,
    SERVICE_ROOT,
    consumer=topology.LETTERS,
    outbox="wiser_letters.adapters.tables:outbox",
    extra={"audit-verify": Command("check the read audit: edited rows, deleted rows, a removed tail", _audit_verify)},
)


def main(argv: list[str] | None = None) -> int:
    return CLI.main(argv)


if __name__ == "__main__":
    sys.exit(main())
