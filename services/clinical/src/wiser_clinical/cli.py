"""`python -m wiser_clinical <command>`: migrate, serve, dlq, seed-demo (dev reviewer profiles)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from wiser_contracts import topology
from wiser_servicekit.cli import Command, ServiceCli
from wiser_servicekit.settings import demo_data_allowed

from .config import Settings

SERVICE_ROOT = Path(__file__).resolve().parents[2]


def _seed_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--reviewer",
        action="append",
        default=[],
        metavar="USER_ID=ROLE",
        help="a gateway user id and its role (clinical_reviewer or medical_director); repeatable",
    )


async def _seed(settings: Settings, args: argparse.Namespace) -> None:
    """Dev only: profiles licensed in every WISeR state for every service, for the demo reviewers."""
    if not demo_data_allowed(settings.env):
        raise SystemExit("seed-demo is for WISER_ENV=dev only")
    from wiser_servicekit.db import make_engine, make_sessionmaker

    from .adapters.repository import SqlUnitOfWork
    from .usecases.reviewers import demo_profile, save_profile

    engine = make_engine(settings.database_url, settings.db_schema, 1)
    seeded = []
    try:
        sessions = make_sessionmaker(engine)
        for entry in args.reviewer:
            user_id, _, role = entry.partition("=")
            async with SqlUnitOfWork(sessions) as uow:
                await save_profile(uow, demo_profile(user_id, role))
                await uow.commit()
            seeded.append({"user_id": user_id, "role": role})
    finally:
        await engine.dispose()
    print(json.dumps({"reviewers": seeded}))


CLI = ServiceCli(
    "clinical",
    Settings,
    SERVICE_ROOT,
    consumer=topology.CLINICAL,
    outbox="wiser_clinical.adapters.tables:outbox",
    extra={"seed-demo": Command("dev: reviewer profiles for the demo users", _seed, _seed_arguments)},
)


def main(argv: list[str] | None = None) -> int:
    return CLI.main(argv)


if __name__ == "__main__":
    sys.exit(main())
