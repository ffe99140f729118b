"""Outside dev, the gateway refuses to start while demo users can still sign in."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from wiser_gateway.bootstrap import create_app, refuse_demo_users
from wiser_gateway.cli import SERVICE_ROOT
from wiser_gateway.config import Settings
from wiser_gateway.usecases import accounts
from wiser_servicekit.db import make_engine, make_sessionmaker
from wiser_servicekit.identity import generate_keypair
from wiser_servicekit.migrate import migrate
from wiser_servicekit.settings import DemoDataRefused


def gateway_settings(infra: Any, **over: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "database_url": infra.sqlalchemy_url("wiser_gateway"),
        "database_admin_url": infra.sqlalchemy_url(),
        "amqp_url": infra.amqp_url,
    }
    return Settings(**{**values, **over})


def staging(infra: Any) -> Settings:
    key, public = generate_keypair()
    return gateway_settings(
        infra, env="staging", identity_private_key=key, identity_public_keys=f"wiser-gateway={public}"
    )


@pytest.fixture(scope="module")
async def sessions(infra: Any) -> Any:
    settings = gateway_settings(infra)
    await asyncio.to_thread(migrate, settings, SERVICE_ROOT)
    engine = make_engine(settings.database_url, settings.db_schema, 2)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def test_the_gateway_refuses_to_start_outside_dev_while_demo_users_exist(
    infra: Any, sessions: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async with sessions() as session, session.begin():
        await accounts.upsert_user(session, "auditor", "Auditor (demo)", "demo-password", ["auditor"])
    app = create_app(staging(infra))
    with pytest.raises(DemoDataRefused):
        async with app.router.lifespan_context(app):
            pass
    assert "refusing to start with WISER_ENV=staging: demo data present (demo user auditor)" in caplog.text

    async with sessions() as session, session.begin():  # renamed, but still the demo password
        await accounts.upsert_user(session, "auditor", "Audrey Auditor", "demo-password", ["auditor"])
    with pytest.raises(DemoDataRefused):
        await refuse_demo_users(staging(infra), sessions)

    async with sessions() as session, session.begin():  # a real person's account under a role's name is fine
        await accounts.upsert_user(session, "auditor", "Audrey Auditor", "a long and real passphrase", ["auditor"])
    await refuse_demo_users(staging(infra), sessions)


async def test_dev_seeds_demo_users_and_test_refuses_them(infra: Any, sessions: Any) -> None:
    async with sessions() as session, session.begin():
        await accounts.upsert_user(session, "ops_tier1", "Ops Tier1 (demo)", "demo-password", ["ops_tier1"])
    try:
        await refuse_demo_users(gateway_settings(infra, env="dev"), sessions)
        with pytest.raises(DemoDataRefused):
            await refuse_demo_users(gateway_settings(infra), sessions)
    finally:
        async with sessions() as session, session.begin():
            user = next(u for u in await accounts.list_users(session) if u.username == "ops_tier1")
            await accounts.set_user(session, user.id, active=False)
    await refuse_demo_users(gateway_settings(infra), sessions)
