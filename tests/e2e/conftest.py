"""The running system for e2e tests: intake started the way `make run` starts it, on this run's infrastructure.

Tests talk to it through public APIs only: the partner API, the ops API with a
gateway identity token, and the bus (publishing each outcome event as its
producer will, through libs/contracts).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from wiser_servicekit.fixtures import fixtures_dir
from wiser_servicekit.identity import format_public_keys, generate_keypair, issue_command_token, issue_identity_token
from wiser_servicekit.testing import Infra, Producers, free_port

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = fixtures_dir()
# This run's own identity keys (not the demo ones), configured the way a deployment configures them.
KEYPAIRS = {service: generate_keypair() for service in ("gateway", "intake", "validation")}
PRIVATE_KEYS = {service: private for service, (private, _) in KEYPAIRS.items()}
GATEWAY_KEY = PRIVATE_KEYS["gateway"]
PUBLIC_KEYS = format_public_keys({f"wiser-{service}": public for service, (_, public) in KEYPAIRS.items()})


@dataclass
class System:
    infra: Infra
    log_dir: Path
    env: dict[str, str]
    url: str = ""
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start_intake(self, name: str, **extra_env: str) -> tuple[subprocess.Popen[bytes], str]:
        port = free_port()
        return self.start(name, ["wiser_intake", "serve"], port, WISER_INTAKE_HTTP_PORT=str(port), **extra_env)

    def start(self, name: str, args: list[str], port: int, **extra_env: str) -> tuple[subprocess.Popen[bytes], str]:
        env = {**self.env, **extra_env}
        log = open(self.log_dir / f"{name}.log", "ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", *args],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, proc)
        return proc, url

    def staff(self, *roles: str, user: str = "e2e-user") -> dict[str, str]:
        """A gateway identity token for a person with these roles."""
        return {"Authorization": f"Bearer {issue_identity_token(GATEWAY_KEY, user, roles)}"}

    def on_behalf(self, packet_id: Any, action: str, *roles: str, user: str = "e2e-user") -> str:
        """The gateway's command token for this person, bound to one action on one packet."""
        return issue_command_token(GATEWAY_KEY, user, roles, packet_id, action)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("*.log")))


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"intake exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health/ready", timeout=2) as r:
                if r.status == 200:
                    return
        except Exception:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} not ready")


def system_env(infra: Infra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WISER_")}
    env.update(
        {
            "WISER_ENV": "dev",
            "WISER_INTAKE_DATABASE_URL": infra.sqlalchemy_url("wiser_intake"),
            "WISER_INTAKE_DATABASE_ADMIN_URL": infra.sqlalchemy_url(),
            "WISER_AMQP_ADMIN_URL": infra.amqp_url,
            "WISER_INTAKE_AMQP_URL": infra.amqp_url_for("intake"),
            "WISER_VALIDATION_AMQP_URL": infra.amqp_url_for("validation"),
            "WISER_GATEWAY_AMQP_URL": infra.amqp_url_for("gateway"),
            "WISER_INTAKE_S3_ENDPOINT_URL": infra.s3_url,
            "WISER_INTAKE_S3_BUCKET": f"e2e-{infra.run_id}",
            "WISER_IDENTITY_PUBLIC_KEYS": PUBLIC_KEYS,
            **{f"WISER_{service.upper()}_IDENTITY_PRIVATE_KEY": key for service, key in PRIVATE_KEYS.items()},
            "WISER_FIXTURES_DIR": str(FIXTURES),
            "WISER_INTAKE_LOG_LEVEL": "INFO",
            # Several systems of this session (and their replicas) share one PostgreSQL's 100 connections.
            "WISER_INTAKE_DB_POOL_SIZE": "6",
            "WISER_VALIDATION_DB_POOL_SIZE": "6",
            "WISER_GATEWAY_DB_POOL_SIZE": "6",
        }
    )
    return env


@pytest.fixture(scope="session")
def system(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    own = infra.derive("e2e")
    sysm = System(own, tmp_path_factory.mktemp("e2e-logs"), system_env(own))
    subprocess.run(
        [sys.executable, "-m", "wiser_intake", "migrate"], cwd=ROOT, env=sysm.env, check=True, capture_output=True
    )
    _, sysm.url = sysm.start_intake("intake")
    seeded = subprocess.run(
        [sys.executable, "-m", "wiser_intake", "seed-demo"], cwd=ROOT, env=sysm.env, capture_output=True, text=True
    )
    assert seeded.returncode == 0, seeded.stderr[-2000:]
    try:
        yield sysm
    finally:
        stop(sysm)


def stop(sysm: System) -> None:
    for proc in sysm.procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in sysm.procs:
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def validation_env(own: Infra, sandbox_port: int, intake_port: int) -> dict[str, str]:
    """What validation needs: its database, intake's ops API and the sandbox peers."""
    sandbox = f"http://127.0.0.1:{sandbox_port}"
    return {
        "WISER_VALIDATION_DATABASE_URL": own.sqlalchemy_url("wiser_validation"),
        "WISER_VALIDATION_DATABASE_ADMIN_URL": own.sqlalchemy_url(),
        "WISER_VALIDATION_INTAKE_URL": f"http://127.0.0.1:{intake_port}",
        "WISER_VALIDATION_HETS_URL": f"{sandbox}/hets/270",
        "WISER_VALIDATION_NPPES_URL": f"{sandbox}/nppes/api/",
        "WISER_VALIDATION_PECOS_URL": f"{sandbox}/pecos/enrollments",
        "WISER_VALIDATION_PEER_TIMEOUT": "2",
        "WISER_VALIDATION_PEER_BACKOFF": "0.3",
        "WISER_VALIDATION_BREAKER_RESET_SECONDS": "2",
        "WISER_SANDBOX_PORT": str(sandbox_port),
    }


def seed_partner(sysm: System) -> None:
    """The demo partner (dev), as `make run` seeds it."""
    seeded = subprocess.run(
        [sys.executable, "-m", "wiser_intake", "seed-demo", "--partner-only"],
        cwd=ROOT,
        env=sysm.env,
        capture_output=True,
        text=True,
    )
    assert seeded.returncode == 0, seeded.stderr[-2000:]


@dataclass
class FullSystem(System):
    validation_url: str = ""
    sandbox_url: str = ""
    gateway_url: str = ""


@pytest.fixture(scope="session")
def full_system(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FullSystem]:
    """Intake, validation and the sandbox peers, on a database and vhost of their own."""
    own = infra.derive("full")
    sysm = FullSystem(own, tmp_path_factory.mktemp("full-logs"), system_env(own))
    sandbox_port, validation_port, intake_port, gateway_port = free_port(), free_port(), free_port(), free_port()
    sysm.env.update(validation_env(own, sandbox_port, intake_port))
    sysm.env.update(
        {
            "WISER_GATEWAY_DATABASE_URL": own.sqlalchemy_url("wiser_gateway"),
            "WISER_GATEWAY_DATABASE_ADMIN_URL": own.sqlalchemy_url(),
            "WISER_GATEWAY_INTAKE_URL": f"http://127.0.0.1:{intake_port}",
            "WISER_GATEWAY_VALIDATION_URL": f"http://127.0.0.1:{validation_port}",
            # Many sign-ins from one address in a few seconds is what these tests do.
            "WISER_GATEWAY_SIGNIN_PER_MINUTE": "600",
        }
    )
    try:
        for module in ("wiser_intake", "wiser_validation", "wiser_gateway"):
            subprocess.run(
                [sys.executable, "-m", module, "migrate"], cwd=ROOT, env=sysm.env, check=True, capture_output=True
            )
        _, sysm.sandbox_url = sysm.start("sandbox", ["wiser_sandbox"], sandbox_port)
        _, sysm.url = sysm.start(
            "intake", ["wiser_intake", "serve"], intake_port, WISER_INTAKE_HTTP_PORT=str(intake_port)
        )
        _, sysm.validation_url = sysm.start(
            "validation",
            ["wiser_validation", "serve"],
            validation_port,
            WISER_VALIDATION_HTTP_PORT=str(validation_port),
        )
        _, sysm.gateway_url = sysm.start(
            "gateway", ["wiser_gateway", "serve"], gateway_port, WISER_GATEWAY_HTTP_PORT=str(gateway_port)
        )
        seed_partner(sysm)
        yield sysm
    finally:
        stop(sysm)


@pytest.fixture(scope="session")
async def partner_headers(system: System) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=system.url) as c:
        r = await c.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": "demo-partner", "client_secret": "demo-secret"},
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture(scope="session")
async def api(system: System) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=system.url, timeout=30) as c:
        yield c


@pytest.fixture(scope="session")
async def producer(system: System) -> AsyncIterator[Any]:
    """Publishes outcome events exactly as their producing services will (libs/contracts), each as its
    owner's broker user."""
    producers = Producers(system.infra)
    yield producers
    await producers.close()
