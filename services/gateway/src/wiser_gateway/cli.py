"""`python -m wiser_gateway <command>`: migrate, serve, create-user."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from wiser_servicekit.cli import Command, ServiceCli

from .config import Settings

SERVICE_ROOT = Path(__file__).resolve().parents[2]


async def _create_user(settings: Settings, username: str, name: str, roles: list[str]) -> None:
    from wiser_servicekit.db import make_engine, make_sessionmaker

    from .usecases.accounts import create_user

    password = getpass.getpass("Initial password: ")
    engine = make_engine(settings.database_url, settings.db_schema, 1)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            await create_user(session, username, name, password, roles)
    finally:
        await engine.dispose()
    print(f"created {username}")


def _create_user_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("username")
    parser.add_argument("--name", required=True)
    parser.add_argument("--role", action="append", required=True)


async def _create(settings: Settings, args: argparse.Namespace) -> None:
    await _create_user(settings, args.username, args.name, args.role)


CLI = ServiceCli(
    "gateway",
    Settings,
    SERVICE_ROOT,
    extra={"create-user": Command("create a user (asks for the password)", _create, _create_user_arguments)},
)


def main(argv: list[str] | None = None) -> int:
    return CLI.main(argv)


if __name__ == "__main__":
    sys.exit(main())
