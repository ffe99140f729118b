"""Settings refuse to start a service that is not configured for where it runs."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from wiser_servicekit import identity
from wiser_servicekit.settings import ServiceSettings

GATEWAY_KEY, GATEWAY_PUBLIC = identity.generate_keypair()
INTAKE_KEY, INTAKE_PUBLIC = identity.generate_keypair()


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WISER_KIT_", extra="ignore")
    service_name: str = "intake"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("WISER_"):
            monkeypatch.delenv(name)


def production(**over: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "env": "prod",
        "identity_private_key": INTAKE_KEY,
        "identity_public_keys": f"wiser-gateway={GATEWAY_PUBLIC},wiser-intake={INTAKE_PUBLIC}",
    }
    values.update(over)
    return values


def refusal(**values: Any) -> str:
    with pytest.raises(ValidationError) as e:
        Settings(**values)
    return str(e.value)


@pytest.mark.parametrize("env", ["dev", "test"])
def test_dev_and_test_use_the_demo_keys_unless_told_otherwise(env: str) -> None:
    s = Settings(env=env)
    assert s.identity_private_key == identity.DEMO_PRIVATE_KEYS["wiser-intake"]
    assert s.identity_issuer == "wiser-intake"
    token = identity.issue_service_token(s.signing_key(), s.identity_issuer)
    assert s.identity_verifier().verify(token).user_id == "svc:intake"
    gateway = identity.issue_identity_token(identity.DEMO_PRIVATE_KEYS["wiser-gateway"], "u", ["admin"])
    assert s.identity_verifier().verify(gateway).roles == {"admin"}


def test_a_configured_production_service_starts() -> None:
    s = Settings(**production())
    assert identity.public_key_of(s.identity_private_key) == INTAKE_PUBLIC


@pytest.mark.parametrize(
    ("over", "says"),
    [
        ({"identity_private_key": ""}, "WISER_INTAKE_IDENTITY_PRIVATE_KEY is required"),
        ({"identity_private_key": identity.DEMO_PRIVATE_KEYS["wiser-intake"]}, "demo identity private key"),
        ({"identity_public_keys": ""}, "must hold the key of wiser-gateway"),
        ({"identity_public_keys": f"wiser-intake={INTAKE_PUBLIC}"}, "must hold the key of wiser-gateway"),
        ({"identity_public_keys": identity.DEMO_PUBLIC_KEYS_SETTING}, "demo public keys are refused"),
    ],
)
def test_outside_dev_the_keys_must_be_set_and_not_the_demo_ones(over: dict[str, Any], says: str) -> None:
    assert says in refusal(**production(**over))


@pytest.mark.parametrize("env", ["dev", "test", "prod"])
def test_malformed_keys_are_refused_everywhere(env: str) -> None:
    assert "not an Ed25519 private key" in refusal(**production(env=env, identity_private_key="c2hvcnQ"))
    assert "WISER_IDENTITY_PUBLIC_KEYS is malformed" in refusal(
        **production(env=env, identity_public_keys="wiser-gateway=c2hvcnQ")
    )


def test_placeholder_keys_are_refused_everywhere_with_a_hint() -> None:
    for env in ("dev", "prod"):
        assert "identity_private_key is a placeholder; make keys with" in refusal(
            **production(env=env, identity_private_key="replace-me")
        )
        assert "WISER_IDENTITY_PUBLIC_KEYS holds a placeholder" in refusal(
            **production(env=env, identity_public_keys="wiser-gateway=replace-me")
        )


def test_key_values_never_appear_in_refusals() -> None:
    message = refusal(**production(identity_public_keys=f"wiser-intake={INTAKE_PUBLIC}"))
    assert INTAKE_KEY not in message and "input_value" not in message
