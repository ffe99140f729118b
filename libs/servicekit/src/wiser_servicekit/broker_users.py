"""Each service is its own RabbitMQ user, allowed to write only what it owns.

RabbitMQ checks the AMQP `user_id` property against the connection's user, so a consumer knows which
service published a message; these permissions keep a service from publishing another's messages:

- topic permission on `wiser.events`: write only routing keys starting with `<service>.`;
- vhost permissions: configure its own queues and input exchange, write `wiser.events` (and
  `wiser.commands` for the services that send commands), read its own queues.

`python -m wiser_servicekit.broker_users --vhost V` (rabbitmqctl on this host) creates them; `make
run`, `.ci/run` (through the test fixture), compose and the Kubernetes manifests call it or load
the same definitions (`definitions` prints RabbitMQ's definitions JSON for `load_definitions`).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable

from wiser_contracts import topology

SERVICES = ("intake", "validation", "clinical", "letters", "outbound", "analytics", "gateway")
COMMAND_SENDERS = frozenset(topology.COMMAND_SENDERS)
USER_PREFIX = "wiser-"
DEV_PASSWORD = "dev-broker-password"  # noqa: S105 - dev and test only; refused outside dev (DEMO_SECRETS)
PLUGIN = "rabbitmq_consistent_hash_exchange"


def user_for(service: str, prefix: str = USER_PREFIX) -> str:
    return f"{prefix}{service}"


def permissions(service: str) -> tuple[str, str, str]:
    """(configure, write, read) regular expressions for the service's user."""
    own = rf"wiser\.{service}\..*|{service}\..*|amq\.gen-.*"
    write = [own, r"wiser\.events"]
    if service in COMMAND_SENDERS:
        write.append(r"wiser\.commands")
    return f"^({own})$", f"^({'|'.join(write)})$", rf"^({own}|wiser\.events)$"


def topic_permissions(service: str) -> tuple[str, str]:
    """(write, read) routing-key patterns on `wiser.events`."""
    return rf"^{re.escape(service)}\.", ".*"


def rabbitmqctl_commands(vhost: str, password: Callable[[str], str]) -> list[list[str]]:
    commands: list[list[str]] = []
    for service in SERVICES:
        user = user_for(service)
        configure, write, read = permissions(service)
        topic_write, topic_read = topic_permissions(service)
        commands += [
            ["add_user", user, password(service)],
            ["change_password", user, password(service)],
            ["set_permissions", "-p", vhost, user, configure, write, read],
            ["set_topic_permissions", "-p", vhost, user, "wiser.events", topic_write, topic_read],
        ]
    return commands


def ensure_users(
    vhost: str,
    password: Callable[[str], str] = lambda _: DEV_PASSWORD,
    ctl: str = "rabbitmqctl",
    admin: str | None = "guest",
) -> bool:
    """Create (or update) `vhost`, every service's user and their permissions with one `rabbitmqctl
    import_definitions` (each rabbitmqctl call starts an Erlang VM: one call, not thirty)."""
    tool = shutil.which(ctl) or ctl
    defs = definitions(vhost, password)
    if admin:
        defs["permissions"].append(  # type: ignore[attr-defined]
            {"user": admin, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"}
        )
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(defs, f)
    os.chmod(f.name, 0o644)  # the broker (another OS user) reads it; password hashes only
    try:
        result = subprocess.run([tool, "import_definitions", f.name], capture_output=True, timeout=120)  # noqa: S603
        # The import finishes in the background: wait until the last service's user may use the vhost.
        return result.returncode == 0 and _wait_usable(vhost, user_for(SERVICES[-1]), password(SERVICES[-1]))
    finally:
        os.unlink(f.name)


def _wait_usable(vhost: str, user: str, password: str, host: str = "127.0.0.1", timeout: float = 30.0) -> bool:
    import asyncio
    import time
    from urllib.parse import quote

    import aio_pika

    url = f"amqp://{quote(user, safe='')}:{quote(password, safe='')}@{host}:5672/{quote(vhost, safe='')}"

    async def attempt() -> bool:
        try:
            connection = await aio_pika.connect(url, timeout=5)
        except Exception:
            return False
        await connection.close()
        return True

    from concurrent.futures import ThreadPoolExecutor

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # A thread of its own: callers may already run an event loop (fixtures inside async tests).
        with ThreadPoolExecutor(1) as pool:
            usable = pool.submit(lambda: asyncio.run(attempt())).result()
        if usable:
            time.sleep(0.3)  # topic permissions are imported right after
            return True
        time.sleep(0.2)
    return False


def enable_plugin(plugins: str = "rabbitmq-plugins") -> bool:
    """The consistent-hash exchange ships with RabbitMQ but is off by default."""
    enabled = os.environ.get("RABBITMQ_ENABLED_PLUGINS_FILE", "/etc/rabbitmq/enabled_plugins")
    try:
        if PLUGIN in open(enabled).read():
            return True  # rabbitmq-plugins starts an Erlang VM (seconds): skip it when already on
    except OSError:
        pass
    tool = shutil.which(plugins)
    if not tool:
        return False
    return subprocess.run([tool, "enable", PLUGIN], capture_output=True, timeout=120).returncode == 0  # noqa: S603


def _password_hash(password: str) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + utf8 password))."""
    salt = os.urandom(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def definitions(vhost: str, password: Callable[[str], str]) -> dict[str, object]:
    """RabbitMQ definitions (users, permissions, topic permissions) for `load_definitions` at broker start."""
    users, perms, topics = [], [], []
    for service in SERVICES:
        user = user_for(service)
        configure, write, read = permissions(service)
        topic_write, topic_read = topic_permissions(service)
        users.append(
            {
                "name": user,
                "password_hash": _password_hash(password(service)),
                "hashing_algorithm": "rabbit_password_hashing_sha256",
                "tags": [],
            }
        )
        perms.append({"user": user, "vhost": vhost, "configure": configure, "write": write, "read": read})
        topics.append(
            {"user": user, "vhost": vhost, "exchange": "wiser.events", "write": topic_write, "read": topic_read}
        )
    return {"users": users, "vhosts": [{"name": vhost}], "permissions": perms, "topic_permissions": topics}


def _password_from_env(service: str) -> str:
    return os.environ.get(f"WISER_BROKER_PASSWORD_{service.upper()}") or os.environ.get(
        "WISER_BROKER_PASSWORD", DEV_PASSWORD
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wiser_servicekit.broker_users")
    parser.add_argument("action", choices=["ensure", "definitions"], nargs="?", default="ensure")
    parser.add_argument("--vhost", default=os.environ.get("WISER_BROKER_VHOST", "/"))
    parser.add_argument("--admin", help="definitions: also an administrator, as user:password (dev compose)")
    args = parser.parse_args(argv)
    if args.action == "definitions":
        defs = definitions(args.vhost, _password_from_env)
        if args.admin:
            name, _, secret = args.admin.partition(":")
            defs["users"].append(  # type: ignore[attr-defined]
                {
                    "name": name,
                    "password_hash": _password_hash(secret),
                    "hashing_algorithm": "rabbit_password_hashing_sha256",
                    "tags": ["administrator"],
                }
            )
            defs["permissions"].append(  # type: ignore[attr-defined]
                {"user": name, "vhost": args.vhost, "configure": ".*", "write": ".*", "read": ".*"}
            )
        print(json.dumps(defs, indent=2))
        return 0
    enable_plugin()
    return 0 if ensure_users(args.vhost, _password_from_env) else 1


if __name__ == "__main__":
    sys.exit(main())
