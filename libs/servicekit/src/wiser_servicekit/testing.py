"""The one test-infrastructure fixture: real PostgreSQL, RabbitMQ and S3 for every test run.

With a Docker engine, PostgreSQL and RabbitMQ come from testcontainers; without
one, the local servers (or the ones the environment names) are used. Either
way each run gets its own database and its own RabbitMQ vhost, so runs never
see each other's data. S3 is moto's server mode on a free local port.

Environment (all optional):
  WISER_TEST_INFRA=auto|containers|local   default auto (containers if a Docker engine answers)
  WISER_TEST_PG_URL      admin URL of a PostgreSQL server   (postgresql://postgres@127.0.0.1:5432/postgres)
  WISER_TEST_AMQP_URL    URL of a RabbitMQ server            (amqp://guest:guest@127.0.0.1:5672/)
  WISER_TEST_S3_URL      an S3 endpoint to use instead of starting moto
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
import pytest

from . import broker_users


@dataclass(frozen=True)
class Infra:
    """Where this test run's isolated database, vhost and S3 are."""

    pg_host: str
    pg_port: int
    pg_user: str
    database: str
    amqp_url: str
    s3_url: str
    run_id: str
    _vhost: Callable[[str], str | None] | None = field(default=None, repr=False, compare=False)
    _cleanups: list[Callable[[], None]] = field(default_factory=list, repr=False, compare=False)

    def derive(self, suffix: str) -> Infra:
        """Another isolated database and vhost on the same servers (for tests that need a system of their own)."""
        run_id = f"{self.run_id}_{suffix}"
        database = f"wiser_test_{run_id}"
        admin_dsn = f"postgresql://{self.pg_user}@{self.pg_host}:{self.pg_port}/postgres"
        _run_in_thread(_create_db(admin_dsn, database))
        self._cleanups.append(lambda: _run_in_thread(_drop_db(admin_dsn, database)))
        amqp_url = self.amqp_url
        if self._vhost is not None:
            amqp_url = self._vhost(f"wiser-test-{run_id}") or self.amqp_url
        return replace(self, database=database, amqp_url=amqp_url, run_id=run_id)

    def amqp_url_for(self, service: str) -> str:
        """This run's vhost as `service`'s own broker user (what the service connects and publishes as)."""
        from .broker_users import DEV_PASSWORD, user_for

        parts = urlsplit(self.amqp_url)
        netloc = f"{quote(user_for(service), safe='')}:{DEV_PASSWORD}@{parts.hostname}"
        if parts.port:
            netloc += f":{parts.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))

    def sqlalchemy_url(self, user: str | None = None) -> str:
        return f"postgresql+asyncpg://{self._login(user)}@{self.pg_host}:{self.pg_port}/{self.database}"

    def _login(self, role: str | None) -> str:
        """`role` with the admin's password when the server wants one (containers)."""
        if role is None:
            return self.pg_user
        _, _, password = self.pg_user.partition(":")
        return f"{role}:{password}" if password else role

    def dsn(self, user: str | None = None) -> str:
        return f"postgresql://{self._login(user)}@{self.pg_host}:{self.pg_port}/{self.database}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def docker_available() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _with_vhost(url: str, vhost: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(vhost, safe=""), parts.query, parts.fragment))


def _rabbitmqctl(*args: str) -> bool:
    tool = shutil.which("rabbitmqctl")
    if not tool:
        return False
    return subprocess.run([tool, *args], capture_output=True, timeout=60).returncode == 0


def _run_in_thread(coro: object) -> None:
    import threading

    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coro)  # type: ignore[arg-type]
        except BaseException as e:
            errors.append(e)

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if errors:
        raise errors[0]


async def _create_db(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def _drop_db(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    mode = os.environ.get("WISER_TEST_INFRA", "auto")
    use_containers = mode == "containers" or (mode == "auto" and docker_available())
    run_id = uuid.uuid4().hex[:10]
    containers = []
    vhost_created = False
    if use_containers:
        from testcontainers.postgres import PostgresContainer
        from testcontainers.rabbitmq import RabbitMqContainer

        pg = PostgresContainer("postgres:16-alpine", username="postgres", password="postgres", dbname="postgres")  # noqa: S106
        pg.start()
        mq = RabbitMqContainer("rabbitmq:3.13-alpine")
        mq.start()
        containers = [pg, mq]

        mq.exec(["rabbitmq-plugins", "enable", broker_users.PLUGIN])

        def vhost_in_container(name: str) -> str | None:
            mq.exec(["rabbitmqctl", "add_vhost", name])
            mq.exec(["rabbitmqctl", "set_permissions", "-p", name, "guest", ".*", ".*", ".*"])
            for command in broker_users.rabbitmqctl_commands(name, lambda _: broker_users.DEV_PASSWORD):
                mq.exec(["rabbitmqctl", *command])
            return _with_vhost(amqp_url, name)

        make_vhost = vhost_in_container
        pg_host, pg_port, pg_user = pg.get_container_host_ip(), int(pg.get_exposed_port(5432)), "postgres:postgres"
        amqp_url = f"amqp://guest:guest@{mq.get_container_host_ip()}:{mq.get_exposed_port(5672)}/"
    else:
        pg_parts = urlsplit(os.environ.get("WISER_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
        pg_host, pg_port = pg_parts.hostname or "127.0.0.1", pg_parts.port or 5432
        pg_user = pg_parts.username or "postgres"
        if pg_parts.password:
            pg_user += ":" + pg_parts.password
        base_amqp = os.environ.get("WISER_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
        vhost = f"wiser-test-{run_id}"
        user = urlsplit(base_amqp).username or "guest"
        broker_users.enable_plugin()
        vhost_created = broker_users.ensure_users(vhost, admin=user)
        amqp_url = _with_vhost(base_amqp, vhost) if vhost_created else base_amqp
        extra_vhosts: list[str] = []

        def vhost_local(name: str) -> str | None:
            if broker_users.ensure_users(name, admin=user):
                extra_vhosts.append(name)
                return _with_vhost(base_amqp, name)
            return None

        make_vhost = vhost_local
    database = f"wiser_test_{run_id}"
    admin_dsn = f"postgresql://{pg_user}@{pg_host}:{pg_port}/postgres"
    asyncio.run(_create_db(admin_dsn, database))
    moto = None
    s3_url = os.environ.get("WISER_TEST_S3_URL")
    if not s3_url:
        from moto.server import ThreadedMotoServer

        port = free_port()
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        moto.start()
        s3_url = f"http://127.0.0.1:{port}"
    cleanups: list[Callable[[], None]] = []
    try:
        yield Infra(pg_host, pg_port, pg_user, database, amqp_url, s3_url, run_id, make_vhost, cleanups)
    finally:
        for cleanup in cleanups:
            try:
                cleanup()
            except Exception:  # noqa: S110 - best effort
                pass
        if not use_containers:
            for name in extra_vhosts:
                _rabbitmqctl("delete_vhost", name)
        if moto is not None:
            moto.stop()
        try:
            asyncio.run(_drop_db(admin_dsn, database))
        except Exception:  # noqa: S110 - a leftover test database is harmless
            pass
        if vhost_created:
            _rabbitmqctl("delete_vhost", f"wiser-test-{run_id}")
        for c in containers:
            c.stop()


class BusProbe:
    """Watches what is published on the bus (a temporary queue bound to `wiser.events`/`wiser.commands`)."""

    def __init__(self, amqp_url: str, keys: tuple[str, ...] = ("#",)) -> None:
        self.amqp_url = amqp_url
        self.keys = keys
        self.messages: list[tuple[str, dict[str, object], dict[str, object]]] = []
        self._connection: object = None
        self._new = asyncio.Event()

    async def __aenter__(self) -> BusProbe:
        import json

        import aio_pika

        from wiser_contracts import topology

        self._connection = connection = await aio_pika.connect_robust(self.amqp_url)
        channel = await connection.channel()
        events = await channel.get_exchange(topology.EVENTS.name, ensure=False)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        for key in self.keys:
            await queue.bind(events, routing_key=key)

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                self.messages.append((message.routing_key or "", json.loads(message.body), dict(message.headers)))
                self._new.set()

        await queue.consume(on_message)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._connection.close()  # type: ignore[attr-defined]

    def of_type(self, routing_key: str, packet_id: object | None = None) -> list[dict[str, object]]:
        return [
            body
            for key, body, _ in self.messages
            if (key == routing_key or key.startswith(routing_key + "."))
            and (packet_id is None or body.get("packet_id") == str(packet_id))
        ]

    async def wait_for(
        self, routing_key: str, packet_id: object | None = None, count: int = 1, timeout: float = 20.0
    ) -> list[dict[str, object]]:
        """Wait until `count` messages of this type (for this packet) arrived; return them."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = self.of_type(routing_key, packet_id)
            if len(found) >= count:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"{routing_key}: {len(found)} of {count} after {timeout}s")
            self._new.clear()
            try:
                await asyncio.wait_for(self._new.wait(), min(remaining, 0.5))
            except TimeoutError:
                pass


async def eventually(check: object, timeout: float = 20.0, interval: float = 0.1) -> object:
    """Poll an async `check()` until it returns something truthy, or fail after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: object = None
    while loop.time() < deadline:
        last = await check()  # type: ignore[operator]
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")


class Producers:
    """Publishes contract messages as the services that own them will: each as its owner's broker user
    (commands as `command_sender`), so consumers' producer checks hold in tests too."""

    def __init__(self, infra: Infra, command_sender: str = "validation") -> None:
        self.infra = infra
        self.command_sender = command_sender
        self._publishers: dict[str, object] = {}

    def publisher(self, service: str) -> object:
        from .bus import Publisher

        if service not in self._publishers:
            self._publishers[service] = Publisher(self.infra.amqp_url_for(service), f"test-{service}")
        return self._publishers[service]

    async def publish(self, message: object, as_service: str | None = None) -> None:
        from wiser_contracts.topology import owner_of

        kind = type(message)
        service = as_service or (self.command_sender if kind.KIND == "command" else owner_of(kind))  # type: ignore[attr-defined,arg-type]
        await self.publisher(service).publish_message(message)  # type: ignore[attr-defined]

    async def close(self) -> None:
        for publisher in self._publishers.values():
            await publisher.close()  # type: ignore[attr-defined]
        self._publishers.clear()


@contextlib.contextmanager
def service_process(module: str, command: str, env: dict[str, str], timeout: float = 60) -> Iterator[str]:
    """`python -m <module> <command>` on a free port (WISER_<SVC>_HTTP_PORT) until ready; yields its URL.

    For tests that need another of our services for real (e.g. validation's reference API), not a stand-in.
    """
    import sys
    import tempfile
    import time
    import urllib.request

    log = tempfile.TemporaryFile()
    port = free_port()
    service = module.removeprefix("wiser_").upper()
    full_env = {**os.environ, **env, f"WISER_{service}_HTTP_PORT": str(port)}
    proc = subprocess.Popen(
        [sys.executable, "-m", module, command],
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                log.seek(0)
                err = log.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"{module} {command} exited with {proc.returncode}: {err}")
            try:
                with urllib.request.urlopen(f"{url}/health/ready", timeout=2) as r:  # noqa: S310 - our own http URL
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{module} {command} not ready at {url}")
            time.sleep(0.2)
        yield url
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


@contextlib.asynccontextmanager
async def scratch_schema(infra: Infra, metadata: Any) -> AsyncIterator[Any]:
    """A sessionmaker over `metadata`'s tables, created in its own new schema (`metadata.schema`) and dropped
    afterwards: servicekit's database tests need tables of their own, not a service's."""
    from sqlalchemy import text

    from .db import make_engine, make_sessionmaker

    schema = str(metadata.schema)
    engine = make_engine(infra.sqlalchemy_url(), schema, 2)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            await conn.run_sync(metadata.create_all)
        yield make_sessionmaker(engine)
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await engine.dispose()
