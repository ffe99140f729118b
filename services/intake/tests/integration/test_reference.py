"""Intake reads the dismissal reasons from validation's reference API (their one source) and keeps them briefly."""

from __future__ import annotations

import httpx
import pytest

from wiser_intake.adapters.reference import ValidationReference
from wiser_intake.usecases.errors import Unavailable
from wiser_servicekit.identity import DEMO_PRIVATE_KEYS, load_private_key
from wiser_servicekit.testing import service_process

KEY = load_private_key(DEMO_PRIVATE_KEYS["wiser-intake"])  # WISER_ENV=test trusts the demo keys


async def test_the_reasons_come_from_validation_and_are_kept_for_the_cache_time_only() -> None:
    async with httpx.AsyncClient() as http:
        with service_process("wiser_validation", "serve-reference", {"WISER_ENV": "test"}) as url:
            kept = ValidationReference(url, KEY, "wiser-intake", http, ttl=3600)
            fresh = ValidationReference(url, KEY, "wiser-intake", http, ttl=0)
            reasons = await kept.in_force()
            assert (await fresh.in_force()).keys() == reasons.keys()
        # validation is gone: the kept list still answers, the uncached one says it cannot
        assert reasons["EXEMPT_PROVIDER"].reason == "Provider holds an exemption (gold card)"
        assert (await kept.in_force())["EXEMPT_PROVIDER"].corrective_action == "Bill normally"
        with pytest.raises(Unavailable):
            await fresh.in_force()


async def test_a_caller_without_a_trusted_key_gets_nothing() -> None:
    from wiser_servicekit.identity import generate_keypair

    async with httpx.AsyncClient() as http:
        with service_process("wiser_validation", "serve-reference", {"WISER_ENV": "test"}) as url:
            stranger = ValidationReference(url, load_private_key(generate_keypair()[0]), "wiser-intake", http)
            with pytest.raises(Unavailable):
                await stranger.in_force()
