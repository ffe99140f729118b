"""Settings refuse to start a service that is not configured for where it runs."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from wiser_servicekit import identity
from wiser_servicekit.settings import DemoDataRefused, ServiceSettings, load_settings, refuse_demo_data

GATEWAY_KEY, GATEWAY_PUBLIC = identity.generate_keypair()
INTAKE_KEY, INTAKE_PUBLIC = identity.generate_keypair()
REAL_SECRET = "k3Q9vX2mL8pR4tW7yZ1aB5cD6eF0gH2jK4mN"


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WISER_KIT_", extra="ignore")
    service_name: str = "intake"
    token_key: str = "dev-partner-token-key-change-me-0123456789"

    def secret_settings(self) -> dict[str, str]:
        return {"token_key": self.token_key}


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
        "token_key": REAL_SECRET,
    }
    values.update(over)
    return values


def refusal(**values: Any) -> str:
    with pytest.raises(ValidationError) as e:
        Settings(**values)
    return str(e.value)


def test_a_service_refuses_to_start_without_wiser_env(caplog: pytest.LogCaptureFixture) -> None:
    assert "WISER_ENV is not set" in refusal()
    with caplog.at_level(logging.CRITICAL), pytest.raises(SystemExit) as e:
        load_settings(Settings)
    assert e.value.code == 2
    assert "refusing to start: WISER_ENV is not set" in caplog.text


def test_wiser_env_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WISER_ENV", "test")
    assert load_settings(Settings).env == "test"


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
        ({"token_key": "dev-partner-token-key-change-me-0123456789"}, "token_key is a demo secret"),
        ({"token_key": "replace-me"}, "token_key is a placeholder"),
        ({"token_key": "a-real-looking-but-placeholder-value-0123456789"}, "token_key is a placeholder"),
        ({"token_key": "short-but-real-9f8e7d"}, "shorter than 32 characters"),
        ({"amqp_url": "amqps://wiser:replace-me@mq:5671/wiser"}, "amqp_url holds a placeholder"),
        ({"database_url": "postgresql+asyncpg://wiser_intake:change-me@pg/wiser"}, "database_url holds a placeholder"),
        ({"env": "staging", "token_key": "replace-me"}, "token_key is a placeholder"),
    ],
)
def test_outside_dev_demo_placeholder_and_short_secrets_and_demo_keys_are_refused(
    over: dict[str, Any], says: str
) -> None:
    assert says in refusal(**production(**over))


@pytest.mark.parametrize("env", ["dev", "test", "prod"])
def test_malformed_keys_are_refused_everywhere(env: str) -> None:
    assert "not an Ed25519 private key" in refusal(**production(env=env, identity_private_key="c2hvcnQ"))
    assert "WISER_IDENTITY_PUBLIC_KEYS is malformed" in refusal(
        **production(env=env, identity_public_keys="wiser-gateway=c2hvcnQ")
    )


def test_secret_values_never_appear_in_refusals() -> None:
    message = refusal(**production(token_key="short-but-real-9f8e7d"))
    assert "short-but-real-9f8e7d" not in message and "input_value" not in message


def test_demo_data_stops_the_start_outside_dev_with_a_clear_log_line(caplog: pytest.LogCaptureFixture) -> None:
    refuse_demo_data(Settings(env="dev"), ["partner client demo-partner"])
    refuse_demo_data(Settings(**production()), [])
    for env in ("test", "prod"):
        settings = Settings(env="test") if env == "test" else Settings(**production())
        with caplog.at_level(logging.CRITICAL), pytest.raises(DemoDataRefused):
            refuse_demo_data(settings, ["partner client demo-partner"])
        assert f"refusing to start with WISER_ENV={env}: demo data present (partner client demo-partner)" in caplog.text


def test_placeholder_keys_are_refused_everywhere_with_a_hint() -> None:
    for env in ("dev", "prod"):
        assert "identity_private_key is a placeholder; make keys with" in refusal(
            **production(env=env, identity_private_key="replace-me")
        )
        assert "WISER_IDENTITY_PUBLIC_KEYS holds a placeholder" in refusal(
            **production(env=env, identity_public_keys="wiser-gateway=replace-me")
        )
