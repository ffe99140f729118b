"""Intake test fixtures: a migrated intake on the run's isolated infrastructure."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from wiser_intake.adapters.partners import upsert_partner
from wiser_intake.bootstrap import create_app
from wiser_intake.cli import SERVICE_ROOT
from wiser_intake.config import Settings
from wiser_servicekit.fixtures import fixtures_dir, packet_body
from wiser_servicekit.identity import DEMO_PRIVATE_KEYS, GATEWAY, issue_command_token, issue_identity_token
from wiser_servicekit.migrate import migrate
from wiser_servicekit.testing import Infra, service_process

FIXTURES = fixtures_dir()


def intake_settings(infra: Infra, **over: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "database_url": infra.sqlalchemy_url("wiser_intake"),
        "database_admin_url": infra.sqlalchemy_url(),
        "amqp_url": infra.amqp_url_for("intake"),
        "amqp_admin_url": infra.amqp_url,
        "s3_endpoint_url": infra.s3_url,
        "s3_bucket": f"intake-{infra.run_id}",
        "otel_exporter": "memory",
        "housekeeping_interval": 3600,
        # Every test module's partners get their tokens from one address in a few seconds.
        "token_per_address_per_minute": 100_000,
        "token_failures_per_address_per_minute": 100_000,
    }
    values.update(over)
    return Settings(**values)


@pytest.fixture(scope="session")
def validation_reference() -> Iterator[str]:
    """Validation's reference API (the dismissal reasons' one source), served by validation itself from its files."""
    with service_process("wiser_validation", "serve-reference", {"WISER_ENV": "test"}) as url:
        yield url


@pytest.fixture(scope="session")
async def settings(infra: Infra, validation_reference: str) -> Settings:
    s = intake_settings(infra, validation_url=validation_reference)
    from wiser_contracts import topology

    await asyncio.to_thread(migrate, s, SERVICE_ROOT, topology.INTAKE)
    return s


@pytest.fixture(scope="module")
async def app(settings: Settings) -> AsyncIterator[Any]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="module")
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as c:
        yield c


@pytest.fixture(scope="module")
def ctx(app: Any) -> Any:
    return app.state.intake


async def make_partner(ctx: Any, client: httpx.AsyncClient, rate: int = 60000) -> dict[str, str]:
    client_id, secret = f"partner-{uuid.uuid4().hex[:8]}", "s3cret-" + uuid.uuid4().hex
    async with ctx.sessions() as session, session.begin():
        await upsert_partner(session, client_id, "Test partner", secret, rate)
    r = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    )
    assert r.status_code == 200, r.text
    return {"client_id": client_id, "Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture(scope="module")
async def partner(ctx: Any, client: httpx.AsyncClient) -> dict[str, str]:
    return await make_partner(ctx, client)


def packet_json(
    ben: str = "Quillon",
    prac: str = "Brightwater",
    state: str = "NJ",
    code: str = "64581",
    dx: str = "N39.41",
    **over: Any,
) -> dict[str, Any]:
    body = packet_body(ben, prac, code=code, dx=dx, state=state, facility_state=state, **over)
    body["external_ref"] = over.get("external_ref") or "T-" + uuid.uuid4().hex[:10]
    return body


def tiny_pdf() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >>"
        b" endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )


@pytest.fixture
def build_packet() -> Any:
    return packet_json


@pytest.fixture
def pdf_bytes() -> bytes:
    return tiny_pdf()


@pytest.fixture
def new_partner(ctx: Any, client: httpx.AsyncClient) -> Any:
    async def make(rate: int = 60000) -> dict[str, str]:
        return await make_partner(ctx, client, rate)

    return make


@pytest.fixture(scope="module")
async def bus(infra: Infra) -> AsyncIterator[Any]:
    """Publish contract messages onto the run's broker, as their producers will (each as its own broker user)."""
    from wiser_servicekit.testing import Producers

    producers = Producers(infra)
    yield producers
    await producers.close()


GATEWAY_KEY = DEMO_PRIVATE_KEYS[GATEWAY]  # WISER_ENV=test trusts the demo keys


@pytest.fixture
def staff(settings: Settings) -> Any:
    """Authorization headers carrying a gateway identity token for the given roles (or another signer's)."""

    def headers(
        *roles: str, user: str = "u-test", ttl: int = 120, key: str | None = None, issuer: str = GATEWAY
    ) -> dict[str, str]:
        token = issue_identity_token(key or GATEWAY_KEY, user, roles, ttl=ttl, issuer=issuer)
        return {"Authorization": f"Bearer {token}"}

    return headers


@pytest.fixture
def on_behalf() -> Any:
    """A gateway command token for one action on one packet (a command's `on_behalf_of`)."""

    def token(packet_id: Any, action: str, *roles: str, user: str = "u-test", key: str | None = None) -> str:
        return issue_command_token(key or GATEWAY_KEY, user, roles, packet_id, action)

    return token


@pytest.fixture
def wait_state(ctx: Any) -> Any:
    """Poll the packet until it reaches `state` (or fail)."""
    from wiser_intake.usecases.packets import packet_detail
    from wiser_servicekit.testing import eventually

    async def wait(packet_id: Any, state: str, timeout: float = 20.0) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            d = await packet_detail(ctx, uuid.UUID(str(packet_id)))
            return d if d["state"] == state else None

        return await eventually(check, timeout)  # type: ignore[return-value]

    return wait
