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
KEYPAIRS = {
    service: generate_keypair()
    for service in ("gateway", "intake", "validation", "clinical", "letters", "analytics", "outbound")
}
PRIVATE_KEYS = {service: private for service, (private, _) in KEYPAIRS.items()}
GATEWAY_KEY = PRIVATE_KEYS["gateway"]
PUBLIC_KEYS = format_public_keys({f"wiser-{service}": public for service, (_, public) in KEYPAIRS.items()})


@dataclass
class System:
    infra: Infra
    log_dir: Path
    env: dict[str, str]
    url: str = ""
    ops_url: str = ""  # intake's ops API and /metrics (8101 in ARCHITECTURE.md), apart from the partner API
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    ops_urls: dict[str, str] = field(default_factory=dict)  # an intake's partner URL -> its ops URL
    named: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)  # the process started as `name`

    def start_intake(self, name: str, **extra_env: str) -> tuple[subprocess.Popen[bytes], str]:
        port, ops_port = free_port(), free_port()
        proc, url = self.start(
            name,
            ["wiser_intake", "serve"],
            port,
            WISER_INTAKE_HTTP_PORT=str(port),
            WISER_INTAKE_OPS_PORT=str(ops_port),
            **extra_env,
        )
        self.ops_urls[url] = f"http://127.0.0.1:{ops_port}"
        return proc, url

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
        self.named[name] = proc
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
            "WISER_ANALYTICS_AMQP_URL": infra.amqp_url_for("analytics"),
            "WISER_CLINICAL_AMQP_URL": infra.amqp_url_for("clinical"),
            "WISER_LETTERS_AMQP_URL": infra.amqp_url_for("letters"),
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
            "WISER_ANALYTICS_DB_POOL_SIZE": "6",
            # The tests take many partner tokens from one address, and fuzz /oauth/token from it.
            "WISER_INTAKE_TOKEN_PER_ADDRESS_PER_MINUTE": "6000",
            "WISER_INTAKE_TOKEN_FAILURES_PER_ADDRESS_PER_MINUTE": "6000",
            "WISER_CLINICAL_DB_POOL_SIZE": "6",
            "WISER_LETTERS_DB_POOL_SIZE": "6",
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
    # The dismissal reasons' one source is validation's reference API: served by validation itself (from its
    # files, without the bus, so that these tests alone decide each packet's validation outcome).
    reference_port = free_port()
    _, sysm.env["WISER_INTAKE_VALIDATION_URL"] = sysm.start(
        "validation-reference",
        ["wiser_validation", "serve-reference"],
        reference_port,
        WISER_VALIDATION_HTTP_PORT=str(reference_port),
    )
    _, sysm.url = sysm.start_intake("intake")
    sysm.ops_url = sysm.ops_urls[sysm.url]
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


def validation_env(own: Infra, sandbox_port: int, intake_ops_port: int) -> dict[str, str]:
    """What validation needs: its database, intake's ops API and the sandbox peers."""
    sandbox = f"http://127.0.0.1:{sandbox_port}"
    return {
        "WISER_VALIDATION_DATABASE_URL": own.sqlalchemy_url("wiser_validation"),
        "WISER_VALIDATION_DATABASE_ADMIN_URL": own.sqlalchemy_url(),
        "WISER_VALIDATION_INTAKE_URL": f"http://127.0.0.1:{intake_ops_port}",
        "WISER_VALIDATION_HETS_URL": f"{sandbox}/hets/270",
        "WISER_VALIDATION_NPPES_URL": f"{sandbox}/nppes/api/",
        "WISER_VALIDATION_PECOS_URL": f"{sandbox}/pecos/enrollments",
        "WISER_VALIDATION_PEER_TIMEOUT": "2",
        "WISER_VALIDATION_PEER_BACKOFF": "0.3",
        "WISER_VALIDATION_BREAKER_RESET_SECONDS": "2",
        "WISER_SANDBOX_PORT": str(sandbox_port),
    }


def letters_env(own: Infra, intake_ops_port: int, validation_port: int, clinical_port: int) -> dict[str, str]:
    """What letters needs: its database, intake's ops API, clinical, validation's reference data, S3."""
    return {
        "WISER_LETTERS_DATABASE_URL": own.sqlalchemy_url("wiser_letters"),
        "WISER_LETTERS_DATABASE_ADMIN_URL": own.sqlalchemy_url(),
        "WISER_LETTERS_INTAKE_URL": f"http://127.0.0.1:{intake_ops_port}",
        "WISER_LETTERS_VALIDATION_URL": f"http://127.0.0.1:{validation_port}",
        "WISER_LETTERS_CLINICAL_URL": f"http://127.0.0.1:{clinical_port}",
        "WISER_LETTERS_S3_ENDPOINT_URL": own.s3_url,
        "WISER_LETTERS_S3_BUCKET": f"e2e-letters-{own.run_id}",
    }


def analytics_env(own: Infra, intake_port: int) -> dict[str, str]:
    """What analytics needs: its database and intake's ops API (history export for rebuilds)."""
    return {
        "WISER_ANALYTICS_DATABASE_URL": own.sqlalchemy_url("wiser_analytics"),
        "WISER_ANALYTICS_DATABASE_ADMIN_URL": own.sqlalchemy_url(),
        "WISER_ANALYTICS_INTAKE_OPS_URL": f"http://127.0.0.1:{intake_port}",
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
    analytics_url: str = ""
    clinical_url: str = ""
    outbound_url: str = ""  # outbound is started by the tests that need it (test_outbound_delivery.py)
    outbound_port: int = 0
    smtp_port: int = 0
    receiver_port: int = 0  # a partner's webhook receiver in a test (allowed although it is 127.0.0.1)
    letters_url: str = ""


@pytest.fixture(scope="session")
def full_system(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FullSystem]:
    """Intake, validation, clinical, the gateway and the sandbox peers, on a database and vhost of their own.
    Clinical has no reviewer profiles until a test gives some, so packets wait in clinical_queue."""
    own = infra.derive("full")
    sysm = FullSystem(own, tmp_path_factory.mktemp("full-logs"), system_env(own))
    sandbox_port, validation_port, intake_port, gateway_port = free_port(), free_port(), free_port(), free_port()
    ops_port, clinical_port, analytics_port = free_port(), free_port(), free_port()
    sysm.env.update(validation_env(own, sandbox_port, ops_port))
    sysm.env.update(clinical_env(own, sandbox_port, ops_port))
    letters_port = free_port()
    sysm.env.update(letters_env(own, ops_port, validation_port, clinical_port))
    sysm.env.update(analytics_env(own, ops_port))
    sysm.env.update(
        {
            "WISER_GATEWAY_DATABASE_URL": own.sqlalchemy_url("wiser_gateway"),
            "WISER_GATEWAY_DATABASE_ADMIN_URL": own.sqlalchemy_url(),
            "WISER_GATEWAY_INTAKE_URL": f"http://127.0.0.1:{ops_port}",
            "WISER_GATEWAY_VALIDATION_URL": f"http://127.0.0.1:{validation_port}",
            "WISER_GATEWAY_ANALYTICS_URL": f"http://127.0.0.1:{analytics_port}",
            "WISER_GATEWAY_CLINICAL_URL": f"http://127.0.0.1:{clinical_port}",
            "WISER_INTAKE_VALIDATION_URL": f"http://127.0.0.1:{validation_port}",
            "WISER_GATEWAY_LETTERS_URL": f"http://127.0.0.1:{letters_port}",
            "WISER_INTAKE_LETTERS_URL": f"http://127.0.0.1:{letters_port}",
            # Many sign-ins from one address in a few seconds is what these tests do.
            "WISER_GATEWAY_SIGNIN_PER_MINUTE": "600",
            # ... and the lockout tests fail one name many times; the per-name throttle (a burst of 5 failures at
            # the default 30/min) is the guard's unit tests' business, not a race for the next e2e sign-in.
            "WISER_GATEWAY_SIGNIN_FAILURES_PER_USER_PER_MINUTE": "600",
            "WISER_GATEWAY_SIGNIN_FAILURES_PER_ADDRESS_PER_MINUTE": "600",
            # The tests stand in for the load balancer: X-Forwarded-For from 127.0.0.1 is believed.
            "WISER_GATEWAY_TRUSTED_PROXIES": "127.0.0.1",
        }
    )
    sysm.outbound_port, sysm.smtp_port = free_port(), free_port()
    sysm.env["WISER_GATEWAY_OUTBOUND_URL"] = f"http://127.0.0.1:{sysm.outbound_port}"
    sysm.env["WISER_SANDBOX_SMTP_PORT"] = str(sysm.smtp_port)
    sysm.receiver_port = free_port()
    sysm.env["WISER_WEBHOOK_ALLOW"] = f"127.0.0.1:{sysm.receiver_port}"
    sysm.env["WISER_INTAKE_WEBHOOK_ALLOW_HOSTS"] = f"127.0.0.1:{sysm.receiver_port}"
    try:
        for module in (
            "wiser_intake",
            "wiser_validation",
            "wiser_clinical",
            "wiser_letters",
            "wiser_gateway",
            "wiser_analytics",
        ):
            subprocess.run(
                [sys.executable, "-m", module, "migrate"], cwd=ROOT, env=sysm.env, check=True, capture_output=True
            )
        _, sysm.sandbox_url = sysm.start("sandbox", ["wiser_sandbox"], sandbox_port)
        _, sysm.url = sysm.start(
            "intake",
            ["wiser_intake", "serve"],
            intake_port,
            WISER_INTAKE_HTTP_PORT=str(intake_port),
            WISER_INTAKE_OPS_PORT=str(ops_port),
        )
        sysm.ops_url = sysm.ops_urls[sysm.url] = f"http://127.0.0.1:{ops_port}"
        _, sysm.validation_url = sysm.start(
            "validation",
            ["wiser_validation", "serve"],
            validation_port,
            WISER_VALIDATION_HTTP_PORT=str(validation_port),
        )
        _, sysm.clinical_url = sysm.start(
            "clinical", ["wiser_clinical", "serve"], clinical_port, WISER_CLINICAL_HTTP_PORT=str(clinical_port)
        )
        _, sysm.letters_url = sysm.start(
            "letters", ["wiser_letters", "serve"], letters_port, WISER_LETTERS_HTTP_PORT=str(letters_port)
        )
        _, sysm.gateway_url = sysm.start(
            "gateway", ["wiser_gateway", "serve"], gateway_port, WISER_GATEWAY_HTTP_PORT=str(gateway_port)
        )
        _, sysm.analytics_url = sysm.start(
            "analytics", ["wiser_analytics", "serve"], analytics_port, WISER_ANALYTICS_HTTP_PORT=str(analytics_port)
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


def clinical_env(own: Infra, sandbox_port: int, intake_ops_port: int) -> dict[str, str]:
    """What clinical needs: its database, intake's ops API and the sandbox MAC (asked again quickly in tests)."""
    return {
        "WISER_CLINICAL_DATABASE_URL": own.sqlalchemy_url("wiser_clinical"),
        "WISER_CLINICAL_DATABASE_ADMIN_URL": own.sqlalchemy_url(),
        "WISER_CLINICAL_INTAKE_URL": f"http://127.0.0.1:{intake_ops_port}",
        "WISER_CLINICAL_MAC_URL": f"http://127.0.0.1:{sandbox_port}/mac/utn",
        "WISER_CLINICAL_MAC_TIMEOUT": "2",
        "WISER_CLINICAL_UTN_POLL_SECONDS": "0.5",
        "WISER_CLINICAL_UTN_RETRY_BASE_SECONDS": "0.5",
        "WISER_CLINICAL_UTN_RETRY_MAX_SECONDS": "2",
        "WISER_CLINICAL_LOG_LEVEL": "INFO",
        "WISER_SANDBOX_PORT": str(sandbox_port),
    }


@dataclass
class ClinicalSystem(System):
    clinical_url: str = ""
    sandbox_url: str = ""


@pytest.fixture(scope="session")
def clinical_system(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClinicalSystem]:
    """Intake, clinical and the sandbox MAC on a database and vhost of their own; tests publish validation's
    outcome as validation will, so packets reach `clinical_queue` quickly."""
    own = infra.derive("clinical")
    sysm = ClinicalSystem(own, tmp_path_factory.mktemp("clinical-logs"), system_env(own))
    sandbox_port, intake_port, clinical_port, ops_port = free_port(), free_port(), free_port(), free_port()
    sysm.env.update(clinical_env(own, sandbox_port, ops_port))
    try:
        for module in ("wiser_intake", "wiser_clinical"):
            subprocess.run(
                [sys.executable, "-m", module, "migrate"], cwd=ROOT, env=sysm.env, check=True, capture_output=True
            )
        _, sysm.sandbox_url = sysm.start("sandbox", ["wiser_sandbox"], sandbox_port)
        _, sysm.url = sysm.start(
            "intake",
            ["wiser_intake", "serve"],
            intake_port,
            WISER_INTAKE_HTTP_PORT=str(intake_port),
            WISER_INTAKE_OPS_PORT=str(ops_port),
        )
        sysm.ops_url = sysm.ops_urls[sysm.url] = f"http://127.0.0.1:{ops_port}"
        _, sysm.clinical_url = sysm.start(
            "clinical", ["wiser_clinical", "serve"], clinical_port, WISER_CLINICAL_HTTP_PORT=str(clinical_port)
        )
        seed_partner(sysm)
        yield sysm
    finally:
        stop(sysm)


# ------------------------------------------------------------------------------------------ outbound


@dataclass
class OutboundSystem(System):
    outbound_url: str = ""
    sandbox_url: str = ""
    receiver_ports: tuple[int, ...] = ()
    outbound_port: int = 0

    def start_outbound(self, name: str = "outbound") -> subprocess.Popen[bytes]:
        proc, self.outbound_url = self.start(
            name,
            ["wiser_outbound", "serve"],
            self.outbound_port,
            WISER_OUTBOUND_HTTP_PORT=str(self.outbound_port),
        )
        return proc


def outbound_env(
    own: Infra, sandbox_port: int, intake_ops_port: int, outbound_port: int, receivers: tuple[int, ...]
) -> dict[str, str]:
    """Outbound on this run's infrastructure (intake's ops API, the sandbox's providers), short retry tiers;
    the test's webhook receivers allowed by intake (registration) and outbound (delivery)."""
    sandbox = f"http://127.0.0.1:{sandbox_port}"
    quick = {f"WISER_OUTBOUND_{c}_DELAYS": "0.5,1,1" for c in ("WEBHOOK", "FAX", "MAIL", "ESMD", "EMAIL")}
    budgets = {f"WISER_OUTBOUND_{c}_BUDGET_SECONDS": "20" for c in ("WEBHOOK", "FAX", "MAIL", "ESMD", "EMAIL")}
    return {
        "WISER_OUTBOUND_DATABASE_URL": own.sqlalchemy_url("wiser_outbound"),
        "WISER_OUTBOUND_DATABASE_ADMIN_URL": own.sqlalchemy_url(),
        "WISER_OUTBOUND_AMQP_URL": own.amqp_url_for("outbound"),
        "WISER_OUTBOUND_INTAKE_URL": f"http://127.0.0.1:{intake_ops_port}",
        "WISER_OUTBOUND_FAX_URL": f"{sandbox}/fax/v1",
        "WISER_OUTBOUND_MAIL_URL": f"{sandbox}/mail/v1",
        "WISER_OUTBOUND_ESMD_URL": f"{sandbox}/esmd/v1",
        "WISER_OUTBOUND_CALLBACK_BASE_URL": f"http://127.0.0.1:{outbound_port}",
        "WISER_OUTBOUND_POLL_SECONDS": "0.2",
        "WISER_OUTBOUND_CLAIM_SECONDS": "5",
        "WISER_OUTBOUND_BREAKER_RESET_SECONDS": "1",
        "WISER_OUTBOUND_DB_POOL_SIZE": "6",
        "WISER_WEBHOOK_ALLOW": ",".join(f"127.0.0.1:{p}" for p in receivers),
        "WISER_INTAKE_WEBHOOK_ALLOW_HOSTS": ",".join(f"127.0.0.1:{p}" for p in receivers),
        "WISER_SANDBOX_PORT": str(sandbox_port),
        **quick,
        **budgets,
    }


@pytest.fixture(scope="session")
def outbound_system(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OutboundSystem]:
    """Intake, outbound and the sandbox's providers, on a database and vhost of their own; test receivers
    on three free local ports the webhook allow-list names."""
    own = infra.derive("outbound")
    sysm = OutboundSystem(own, tmp_path_factory.mktemp("outbound-logs"), system_env(own))
    sandbox_port, intake_port, ops_port = free_port(), free_port(), free_port()
    sysm.outbound_port = free_port()
    sysm.receiver_ports = (free_port(), free_port(), free_port())
    sysm.env.update(outbound_env(own, sandbox_port, ops_port, sysm.outbound_port, sysm.receiver_ports))
    try:
        for module in ("wiser_intake", "wiser_outbound"):
            subprocess.run(
                [sys.executable, "-m", module, "migrate"], cwd=ROOT, env=sysm.env, check=True, capture_output=True
            )
        _, sysm.sandbox_url = sysm.start("sandbox", ["wiser_sandbox"], sandbox_port)
        _, sysm.url = sysm.start(
            "intake",
            ["wiser_intake", "serve"],
            intake_port,
            WISER_INTAKE_HTTP_PORT=str(intake_port),
            WISER_INTAKE_OPS_PORT=str(ops_port),
        )
        sysm.ops_url = sysm.ops_urls[sysm.url] = f"http://127.0.0.1:{ops_port}"
        sysm.start_outbound()
        seed_partner(sysm)
        yield sysm
    finally:
        stop(sysm)


class OutboundProcess:
    """Outbound started on the full system's database, broker, intake, letters and sandbox (and restarted)."""

    def __init__(self, sysm: FullSystem) -> None:
        from urllib.parse import urlsplit

        self.sysm = sysm
        sandbox, intake = urlsplit(sysm.sandbox_url), urlsplit(sysm.ops_url)
        self.env = {
            **outbound_env(sysm.infra, sandbox.port or 0, intake.port or 0, sysm.outbound_port, (sysm.receiver_port,)),
            "WISER_OUTBOUND_HTTP_PORT": str(sysm.outbound_port),
            "WISER_OUTBOUND_LETTERS_URL": getattr(sysm, "letters_url", "") or "http://127.0.0.1:9",
            "WISER_OUTBOUND_SMTP_PORT": str(sysm.smtp_port),
            "WISER_OUTBOUND_SMTP_INSECURE_TLS": "true",
            "WISER_OUTBOUND_EMAIL_STATUS_URL": f"{sysm.sandbox_url}/email/v1",
            "WISER_OUTBOUND_FAX_BUDGET_SECONDS": "8",
            "WISER_OUTBOUND_CLAIM_SECONDS": "3",
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def migrate(self) -> None:
        subprocess.run(
            [sys.executable, "-m", "wiser_outbound", "migrate"],
            cwd=ROOT,
            env={**self.sysm.env, **self.env},
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        port = self.sysm.outbound_port
        self.proc, self.sysm.outbound_url = self.sysm.start("outbound", ["wiser_outbound", "serve"], port, **self.env)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no goodbye (what a crash looks like)."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)


@pytest.fixture(scope="session")
def full_outbound(full_system: FullSystem) -> OutboundProcess:
    """Outbound in the full system (the tests that need it start it; the gateway already knows its URL)."""
    outbound = OutboundProcess(full_system)
    outbound.migrate()
    outbound.start()
    return outbound
