"""`python -m wiser_gateway <command>`: migrate, serve, create-user, audit-verify."""

from __future__ import annotations

import argparse
import asyncio
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


async def _audit_verify(settings: Settings, args: argparse.Namespace) -> None:
    """Check the audit trail's hash chain against the sealed heads (and heads from log files); exit 1 if wrong."""
    from wiser_servicekit import audit_chain
    from wiser_servicekit.db import make_engine, make_sessionmaker

    from .usecases.audit import SERVICE, verify

    logged: list[audit_chain.Head] = []
    for path in args.log or ():
        text = await asyncio.to_thread(Path(path).read_text, encoding="utf-8")
        logged.extend(audit_chain.heads_from_log(text.splitlines(), SERVICE))
    engine = make_engine(settings.database_url, settings.db_schema, 1)
    try:
        async with make_sessionmaker(engine)() as session:
            findings = await verify(session, logged)
    finally:
        await engine.dispose()
    for finding in findings:
        print(finding)
    if findings:
        print(f"audit trail: {len(findings)} problem(s)")
        raise SystemExit(1)
    print("audit trail: intact")


def _audit_verify_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log", action="append", help="a gateway JSON log file whose sealed heads to check too")


async def _user_ids(settings: Settings, args: argparse.Namespace) -> None:
    """Print `{username: user id}` for the named users (what other services key people's profiles by)."""
    import json

    from sqlalchemy import select

    from wiser_servicekit.db import make_engine, make_sessionmaker

    from .adapters.tables import users

    engine = make_engine(settings.database_url, settings.db_schema, 1)
    try:
        async with make_sessionmaker(engine)() as session:
            rows = (
                await session.execute(select(users.c.username, users.c.id).where(users.c.username.in_(args.username)))
            ).all()
    finally:
        await engine.dispose()
    print(json.dumps({r.username: str(r.id) for r in rows}))


def _user_ids_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("username", nargs="+")


CLI = ServiceCli(
    "gateway",
    Settings,
    SERVICE_ROOT,
    extra={
        "create-user": Command("create a user (asks for the password)", _create, _create_user_arguments),
        "audit-verify": Command(
            "check the audit trail: edited rows, deleted rows, a removed tail", _audit_verify, _audit_verify_arguments
        ),
        "user-ids": Command("print the ids of the named users as JSON", _user_ids, _user_ids_arguments),
    },
)


def main(argv: list[str] | None = None) -> int:
    return CLI.main(argv)


if __name__ == "__main__":
    sys.exit(main())
