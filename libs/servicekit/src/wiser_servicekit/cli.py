"""`python -m wiser_<svc> <command>`, the same for every service: migrate, serve, dlq, and its own extras.

A service's `cli.py` describes itself in a `ServiceCli` and adds commands that only it has
(intake's `seed-demo`, the gateway's `create-user`); the rest is here, once.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wiser_contracts.topology import Consumer

from .settings import ServiceSettings, load_settings


@dataclass(frozen=True)
class Command:
    help: str
    run: Callable[[Any, argparse.Namespace], Awaitable[None] | None]
    arguments: Callable[[argparse.ArgumentParser], None] = lambda _: None


@dataclass(frozen=True)
class ServiceCli:
    name: str  # "intake"
    settings: type[ServiceSettings]
    root: Path  # the service's directory (alembic.ini, migrations/)
    consumer: Consumer | None = None  # what `migrate` declares and `dlq` inspects
    outbox: str | None = None  # "wiser_intake.adapters.tables:outbox", imported only when needed
    workers: Callable[[Any], int] = lambda _: 1
    # Further ports the same app listens on (intake's internal ops port); PortSurfaces splits the routes.
    extra_ports: Callable[[Any], list[int]] = lambda _: []
    extra: dict[str, Command] = field(default_factory=dict)

    @property
    def package(self) -> str:
        return f"wiser_{self.name}"

    def parser(self) -> argparse.ArgumentParser:
        from .messaging import BUS_ACTIONS

        parser = argparse.ArgumentParser(prog=f"python -m {self.package}")
        sub = parser.add_subparsers(dest="command", required=True)
        sub.add_parser("migrate", help=f"create the {self.name} role and schema, apply migrations, declare its queues")
        sub.add_parser("serve", help="serve the HTTP API with the service's consumers and outbox relay")
        if self.outbox is not None:
            dlq = sub.add_parser("dlq", help="parked messages, wiser.unrouted and parked outbox rows: list or replay")
            dlq.add_argument("action", choices=BUS_ACTIONS)
        for name, command in self.extra.items():
            command.arguments(sub.add_parser(name, help=command.help))
        return parser

    def main(self, argv: list[str] | None = None) -> int:
        args = self.parser().parse_args(argv)
        settings = load_settings(self.settings)
        if args.command == "migrate":
            from .migrate import migrate

            migrate(settings, self.root, self.consumer)
            print(f"{self.name}: migrated")
        elif args.command == "serve":
            self.serve(settings)
        elif args.command == "dlq":
            asyncio.run(self._dlq(settings, args.action))
        else:
            result = self.extra[args.command].run(settings, args)
            if result is not None:
                asyncio.run(result)  # type: ignore[arg-type]
        return 0

    def serve(self, settings: Any) -> None:
        import uvicorn

        options: dict[str, Any] = {
            "host": settings.http_host,
            "port": settings.http_port,
            "log_config": None,
            "proxy_headers": False,
        }
        factory = f"{self.package}.bootstrap:create_app"
        workers = self.workers(settings)
        extra = [p for p in self.extra_ports(settings) if p]
        if not extra:
            if workers > 1:
                # Each worker is a full replica: consumers share the partitions by lease, one relay is active.
                uvicorn.run(factory, factory=True, workers=workers, **options)
            else:
                create_app = importlib.import_module(f"{self.package}.bootstrap").create_app
                uvicorn.run(create_app(settings), **options)
            return
        from uvicorn.supervisors import Multiprocess

        if workers > 1:
            config = uvicorn.Config(factory, factory=True, workers=workers, **options)
        else:
            config = uvicorn.Config(
                importlib.import_module(f"{self.package}.bootstrap").create_app(settings), **options
            )
        sockets = [config.bind_socket()]
        for port in extra:
            sockets.append(uvicorn.Config(factory, **{**options, "port": port}).bind_socket())
        if workers > 1:
            Multiprocess(config, sockets=sockets).run()
        else:
            uvicorn.Server(config).run(sockets=sockets)

    async def _dlq(self, settings: Any, action: str) -> None:
        from .messaging import bus_command

        assert self.consumer is not None and self.outbox is not None
        module, _, name = self.outbox.partition(":")
        await bus_command(settings, self.consumer, getattr(importlib.import_module(module), name), action)
