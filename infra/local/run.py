"""`make run`: the whole system on this machine, stopped together with Ctrl-C.

1. PostgreSQL and RabbitMQ must answer; if not, they are started from
   infra/compose.yaml when a Docker engine exists, else this says how to get them.
2. Starts the local S3 (moto's server mode), migrates every service, starts
   every service that exists, seeds the demo partner and packets (WISER_ENV=dev),
   prints the URLs and credentials, and waits.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

from wiser_servicekit.fixtures import fixtures_dir

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
RUN_DIR = ROOT / ".run"
FIXTURES = fixtures_dir()

PG = ("127.0.0.1", 5432)
MQ = ("127.0.0.1", 5672)
S3_PORT = int(os.environ.get("WISER_S3_PORT", "9000"))
DB_NAME = os.environ.get("WISER_DB_NAME", "wiser")

# Every service that exists: (name, module, port). Later issues add theirs here.
SERVICES = [
    ("intake", "wiser_intake", 8001),
    ("validation", "wiser_validation", 8002),
    ("outbound", "wiser_outbound", 8005),
    ("analytics", "wiser_analytics", 8006),
    ("clinical", "wiser_clinical", 8003),
    ("letters", "wiser_letters", 8004),
    ("gateway", "wiser_gateway", 8000),
]
SANDBOX_PORT = int(os.environ.get("WISER_SANDBOX_PORT", "8009"))
SMTP_PORT = int(os.environ.get("WISER_SANDBOX_SMTP_PORT", "8025"))
INTAKE_OPS_PORT = 8101  # intake's ops API and /metrics (ARCHITECTURE.md), internal

children: list[subprocess.Popen[bytes]] = []


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def docker_engine() -> bool:
    docker = shutil.which("docker")
    return bool(docker) and subprocess.run([docker, "info"], capture_output=True).returncode == 0  # type: ignore[list-item]


def ensure_backing_services() -> None:
    missing = [name for name, addr in (("PostgreSQL", PG), ("RabbitMQ", MQ)) if not port_open(*addr)]
    if not missing:
        return
    if docker_engine():
        print(f"starting {', '.join(missing)} from infra/compose.yaml")
        subprocess.run(
            ["docker", "compose", "-f", str(ROOT / "infra" / "compose.yaml"), "up", "-d", "postgres", "rabbitmq"],
            check=True,
            env={**os.environ, "WISER_ENV": os.environ.get("WISER_ENV", "dev")},  # the file wants it said
        )
        deadline = time.time() + 120
        while time.time() < deadline and not (port_open(*PG) and port_open(*MQ)):
            time.sleep(1)
        if port_open(*PG) and port_open(*MQ):
            return
    print(
        f"{', '.join(missing)} not reachable on localhost and no Docker engine to start them.\n"
        "Install and start them (Debian):\n"
        "  apt-get install -y postgresql rabbitmq-server\n"
        "  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n"
        "  rabbitmq-server -detached\n"
        "PostgreSQL must accept user 'postgres' without a password on 127.0.0.1 (trust), RabbitMQ guest/guest.",
        file=sys.stderr,
    )
    raise SystemExit(2)


def ensure_database() -> None:
    """A fresh database each run (the local S3 keeps objects in memory); WISER_KEEP_DATA=1 keeps it."""
    fresh = os.environ.get("WISER_KEEP_DATA") != "1"
    lines = [
        "import asyncio, asyncpg",
        "async def main():",
        "    c = await asyncpg.connect('postgresql://postgres@127.0.0.1:5432/postgres')",
    ]
    if fresh:
        lines.append(f"    await c.execute('DROP DATABASE IF EXISTS \"{DB_NAME}\" WITH (FORCE)')")
    lines += [
        f"    if not await c.fetchval(\"SELECT 1 FROM pg_database WHERE datname='{DB_NAME}'\"):",
        f"        await c.execute('CREATE DATABASE \"{DB_NAME}\"')",
        "    await c.close()",
        "asyncio.run(main())",
    ]
    out = subprocess.run([PY, "-c", "\n".join(lines)], capture_output=True, text=True)
    if out.returncode != 0:
        print(out.stderr, file=sys.stderr)
        raise SystemExit(2)


# Our own vhost when we can make it (rabbitmqctl here); compose's broker has its users on "/" (infra/rabbitmq).
VHOST = os.environ.get("WISER_BROKER_VHOST") or ("wiser" if shutil.which("rabbitmqctl") else "/")
ADMIN_AMQP = os.environ.get("WISER_AMQP_ADMIN_URL", f"amqp://guest:guest@127.0.0.1:5672/{quote(VHOST, safe='')}")


def rabbitmqctl(*args: str) -> bool:
    tool = shutil.which("rabbitmqctl")
    return bool(tool) and subprocess.run([tool, *args], capture_output=True).returncode == 0  # type: ignore[list-item]


def ensure_broker() -> None:
    """Our own vhost (fresh each run, like the database), the consistent-hash plugin, a user per service."""
    if not shutil.which("rabbitmqctl"):
        print("rabbitmqctl not found: using the broker's own users (infra/rabbitmq/definitions.dev.json) on '/'")
        return
    if os.environ.get("WISER_KEEP_DATA") != "1":
        rabbitmqctl("delete_vhost", VHOST)
    subprocess.run([PY, "-m", "wiser_servicekit.broker_users", "ensure", "--vhost", VHOST], cwd=ROOT, check=True)


def env_for(name: str) -> dict[str, str]:
    """A service's environment: WISER_ENV=dev, so the well-known demo identity keys (each service its own, the
    gateway's signing people's tokens) and demo secrets apply unless the caller's environment sets real ones."""
    from wiser_servicekit.broker_users import DEV_PASSWORD, user_for

    env = dict(os.environ)
    up = name.upper()
    env.setdefault("WISER_ENV", "dev")
    env.setdefault("WISER_AMQP_ADMIN_URL", ADMIN_AMQP)
    env.setdefault(
        f"WISER_{up}_AMQP_URL", f"amqp://{user_for(name)}:{DEV_PASSWORD}@127.0.0.1:5672/{quote(VHOST, safe='')}"
    )
    env.setdefault(f"WISER_{up}_DATABASE_URL", f"postgresql+asyncpg://wiser_{name}@127.0.0.1:5432/{DB_NAME}")
    env.setdefault(f"WISER_{up}_DATABASE_ADMIN_URL", f"postgresql+asyncpg://postgres@127.0.0.1:5432/{DB_NAME}")
    env.setdefault(f"WISER_{up}_S3_ENDPOINT_URL", f"http://127.0.0.1:{S3_PORT}")
    env.setdefault("WISER_FIXTURES_DIR", str(FIXTURES))
    # PostgreSQL's default max_connections is 100: eight processes (intake runs two workers) with a pool of 8
    # (no overflow) plus their relay and lease connections stay under it; 16 each would not.
    env.setdefault(f"WISER_{up}_DB_POOL_SIZE", "8")
    if name == "intake":
        env.setdefault("WISER_INTAKE_WORKERS", "2")
        env.setdefault("WISER_INTAKE_OPS_PORT", str(INTAKE_OPS_PORT))
    # Intake's ops API (internal port), apart from its partner API.
    env.setdefault("WISER_VALIDATION_INTAKE_URL", f"http://127.0.0.1:{INTAKE_OPS_PORT}")
    env.setdefault("WISER_GATEWAY_INTAKE_URL", f"http://127.0.0.1:{INTAKE_OPS_PORT}")
    env.setdefault("WISER_CLINICAL_INTAKE_URL", f"http://127.0.0.1:{INTAKE_OPS_PORT}")
    env.setdefault("WISER_OUTBOUND_INTAKE_URL", f"http://127.0.0.1:{INTAKE_OPS_PORT}")
    env.setdefault("WISER_LETTERS_INTAKE_URL", f"http://127.0.0.1:{INTAKE_OPS_PORT}")
    env.setdefault("WISER_ANALYTICS_INTAKE_OPS_URL", f"http://127.0.0.1:{INTAKE_OPS_PORT}")
    sandbox = f"http://127.0.0.1:{SANDBOX_PORT}"
    env.setdefault("WISER_VALIDATION_HETS_URL", f"{sandbox}/hets/270")
    env.setdefault("WISER_VALIDATION_NPPES_URL", f"{sandbox}/nppes/api/")
    env.setdefault("WISER_VALIDATION_PECOS_URL", f"{sandbox}/pecos/enrollments")
    env.setdefault("WISER_OUTBOUND_FAX_URL", f"{sandbox}/fax/v1")
    env.setdefault("WISER_OUTBOUND_MAIL_URL", f"{sandbox}/mail/v1")
    env.setdefault("WISER_OUTBOUND_ESMD_URL", f"{sandbox}/esmd/v1")
    env.setdefault("WISER_OUTBOUND_EMAIL_STATUS_URL", f"{sandbox}/email/v1")
    env.setdefault("WISER_OUTBOUND_SMTP_PORT", str(SMTP_PORT))
    env.setdefault("WISER_OUTBOUND_SMTP_INSECURE_TLS", "true")  # the sandbox's self-signed certificate
    env.setdefault("WISER_CLINICAL_MAC_URL", f"{sandbox}/mac/utn")
    return env


def start(name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    RUN_DIR.mkdir(exist_ok=True)
    log = open(RUN_DIR / f"{name}.log", "ab")
    proc = subprocess.Popen(
        args, cwd=ROOT, env=env or dict(os.environ), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    children.append(proc)
    return proc


def wait_ready(url: str, timeout: float = 60) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310 - our own localhost URL
                if r.status == 200:
                    return True
        except Exception:  # noqa: S110 - not up yet
            pass
        time.sleep(0.5)
    return False


def stop_all(*_: object) -> None:
    for proc in reversed(children):
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.time() + 15
    for proc in children:
        try:
            proc.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    print("stopped")


def seed_reviewers() -> None:
    """The demo clinical_reviewer and medical_director get reviewer profiles (all six states, every service),
    keyed by their gateway user ids, so a clean demo packet is assigned without anyone touching it."""
    names = ("clinical_reviewer", "medical_director")
    found = subprocess.run(
        [PY, "-m", "wiser_gateway", "user-ids", *names],
        cwd=ROOT,
        env=env_for("gateway"),
        capture_output=True,
        text=True,
    )
    ids = json.loads(found.stdout or "{}") if found.returncode == 0 else {}
    reviewers = [f"--reviewer={ids[name]}={name}" for name in names if name in ids]
    if reviewers:
        subprocess.run(
            [PY, "-m", "wiser_clinical", "seed-demo", *reviewers], cwd=ROOT, env=env_for("clinical"), check=True
        )


def main() -> int:
    ensure_backing_services()
    ensure_database()
    ensure_broker()
    signal.signal(signal.SIGTERM, lambda *_: (stop_all(), sys.exit(0)))
    try:
        if port_open("127.0.0.1", S3_PORT):
            print(f"local S3: something already listens on :{S3_PORT}; using it")
        else:
            start("s3", [str(Path(PY).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(S3_PORT)])
            deadline = time.time() + 30
            while not port_open("127.0.0.1", S3_PORT) and time.time() < deadline:
                time.sleep(0.2)
        start(
            "sandbox",
            [PY, "-m", "wiser_sandbox"],
            {
                **os.environ,
                "WISER_FIXTURES_DIR": str(FIXTURES),
                "WISER_SANDBOX_PORT": str(SANDBOX_PORT),
                "WISER_SANDBOX_SMTP_PORT": str(SMTP_PORT),
            },
        )
        if not wait_ready(f"http://127.0.0.1:{SANDBOX_PORT}/health/ready"):
            print("sandbox peers did not become ready; see .run/sandbox.log", file=sys.stderr)
            stop_all()
            return 1
        for name, module, _ in SERVICES:
            subprocess.run([PY, "-m", module, "migrate"], cwd=ROOT, env=env_for(name), check=True)
        for name, module, _ in SERVICES:
            start(name, [PY, "-m", module, "serve"], env_for(name))
        for name, _, port in SERVICES:
            if not wait_ready(f"http://127.0.0.1:{port}/health/ready"):
                print(f"{name} did not become ready; see .run/{name}.log", file=sys.stderr)
                stop_all()
                return 1
        seed_reviewers()  # before the demo packets, so they are assigned as they reach clinical_queue
        seeded = subprocess.run(
            [PY, "-m", "wiser_intake", "seed-demo"], cwd=ROOT, env=env_for("intake"), capture_output=True, text=True
        )
        if seeded.returncode != 0:
            print(seeded.stderr[-2000:], file=sys.stderr)
            stop_all()
            return 1
        demo = json.loads(seeded.stdout)
        print("\nWISeR is running (WISER_ENV=dev). Logs: .run/<service>.log\n")
        for name, _, port in SERVICES:
            docs = "dashboards" if name == "gateway" else "OpenAPI: /docs"
            print(f"  {name:<10} http://127.0.0.1:{port}   ({docs}, health: /health/ready)")
        print(f"  {'intake ops':<10} http://127.0.0.1:{INTAKE_OPS_PORT}   (ops API, /metrics; internal)")
        print(
            f"  {'sandbox':<10} http://127.0.0.1:{SANDBOX_PORT}   (HETS, NPPES, PECOS, MAC, fax, mail, esMD;"
            f" SMTP on :{SMTP_PORT}; faults at /_sandbox/faults)"
        )
        print(f"  {'s3':<10} http://127.0.0.1:{S3_PORT}")
        print(
            f"\n  demo partner: client_id={demo['partner']['client_id']}"
            f" client_secret={demo['partner']['client_secret']}"
        )
        print(f"  demo packets: {len(demo['packets'])} seeded from {FIXTURES}")
        print("  demo users: one per role, username = the role (e.g. ops_tier1), password demo-password")
        print("  dashboards: http://127.0.0.1:8000")
        print("\nCtrl-C stops everything.")
        while True:
            for proc in children:
                if proc.poll() is not None:
                    print(f"a child exited ({proc.args[:3]}); stopping", file=sys.stderr)
                    stop_all()
                    return 1
            time.sleep(1)
    except KeyboardInterrupt:
        stop_all()
        return 0


if __name__ == "__main__":
    sys.exit(main())
