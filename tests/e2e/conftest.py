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

from wiser_servicekit import messaging
from wiser_servicekit.identity import issue_identity_token
from wiser_servicekit.testing import Infra, free_port

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(os.environ.get("WISER_FIXTURES_DIR", ROOT.parent / "shared" / "fixtures"))
IDENTITY_KEY = "e2e-identity-key-" + "k" * 32


@dataclass
class System:
    infra: Infra
    log_dir: Path
    env: dict[str, str]
    url: str = ""
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start_intake(self, name: str, **extra_env: str) -> tuple[subprocess.Popen[bytes], str]:
        port = free_port()
        env = {**self.env, "WISER_INTAKE_HTTP_PORT": str(port), **extra_env}
        log = open(self.log_dir / f"{name}.log", "ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "wiser_intake", "serve"],
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
        return {"Authorization": f"Bearer {issue_identity_token(IDENTITY_KEY, user, roles)}"}

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
            "WISER_AMQP_URL": infra.amqp_url,
            "WISER_INTAKE_S3_ENDPOINT_URL": infra.s3_url,
            "WISER_INTAKE_S3_BUCKET": f"e2e-{infra.run_id}",
            "WISER_IDENTITY_KEY": IDENTITY_KEY,
            "WISER_FIXTURES_DIR": str(FIXTURES),
            "WISER_INTAKE_LOG_LEVEL": "INFO",
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
        for proc in sysm.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in sysm.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


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
    """Publishes outcome events exactly as their producing services will (libs/contracts)."""
    broker = messaging.make_broker(system.infra.amqp_url, "e2e-producer")
    await broker.connect()

    class Producer:
        async def publish(self, message: Any) -> None:
            await messaging.publish_message(broker, message)

    yield Producer()
    await broker.stop()
