"""Outside dev, intake refuses to start while the demo partner can still sign in."""

from __future__ import annotations

import secrets

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import update

from wiser_intake.adapters.partners import upsert_partner
from wiser_intake.adapters.tables import partner_clients
from wiser_intake.bootstrap import create_app, refuse_demo_partner
from wiser_servicekit.identity import generate_keypair
from wiser_servicekit.settings import DemoDataRefused

from ..conftest import intake_settings


@pytest.fixture
def process_globals() -> object:
    """create_app installs the process's cipher and command authority: put the test app's back afterwards."""
    from wiser_intake.entrypoints import on_behalf
    from wiser_servicekit import crypto

    saved = crypto._cipher, on_behalf._authority
    yield
    crypto._cipher, on_behalf._authority = saved


def staging(infra) -> object:
    key, _ = generate_keypair()
    _, gateway = generate_keypair()
    return intake_settings(
        infra,
        env="staging",
        identity_private_key=key,
        identity_public_keys=f"wiser-gateway={gateway}",
        partner_token_key=secrets.token_urlsafe(40),
        phi_keys=Fernet.generate_key().decode(),
        phi_index_key=secrets.token_urlsafe(40),
        webhook_seal_keys=Fernet.generate_key().decode(),
    )


async def test_intake_refuses_to_start_outside_dev_while_the_demo_partner_exists(
    infra, settings, ctx, process_globals, caplog: pytest.LogCaptureFixture
) -> None:
    async with ctx.sessions() as session, session.begin():
        await upsert_partner(session, "demo-partner", "Demo partner (dev)", "demo-secret")
    try:
        app = create_app(staging(infra))
        with pytest.raises(DemoDataRefused):
            async with app.router.lifespan_context(app):
                pass
        assert "refusing to start with WISER_ENV=staging: demo data present (partner client demo-partner)" in (
            caplog.text
        )
        with pytest.raises(DemoDataRefused):  # the test environment keeps demo data out too
            await refuse_demo_partner(settings, ctx.sessions)
    finally:
        async with ctx.sessions() as session, session.begin():
            await session.execute(
                update(partner_clients).where(partner_clients.c.client_id == "demo-partner").values(active=False)
            )
    await refuse_demo_partner(settings, ctx.sessions)  # deactivated: no longer in the way
