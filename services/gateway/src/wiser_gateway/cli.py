"""`python -m wiser_gateway <command>`: migrate, serve, create-user."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path

from wiser_servicekit.settings import load_settings

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wiser_gateway")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create the gateway role and schema, apply migrations")
    sub.add_parser("serve", help="serve the dashboards")
    create = sub.add_parser("create-user", help="create a user (asks for the password)")
    create.add_argument("username")
    create.add_argument("--name", required=True)
    create.add_argument("--role", action="append", required=True)
    args = parser.parse_args(argv)
    settings = load_settings(Settings)
    if args.command == "migrate":
        from wiser_servicekit.migrate import migrate

        migrate(settings, SERVICE_ROOT)
        print("gateway: migrated")
    elif args.command == "serve":
        import uvicorn

        from .bootstrap import create_app

        uvicorn.run(
            create_app(settings), host=settings.http_host, port=settings.http_port, log_config=None, proxy_headers=False
        )
    else:
        asyncio.run(_create_user(settings, args.username, args.name, args.role))
    return 0


if __name__ == "__main__":
    sys.exit(main())
