"""Settings base every service extends (env prefix WISER_<SVC>_).

`WISER_ENV` has no default: a service refuses to start without it.

- `dev` (`make run`): demo keys and secrets are the defaults; demo users and the
  demo partner may exist.
- `test` (the test suite's own services): like dev for keys and secrets (the
  demo ones are defaults, so tests need no configuration), but demo users and
  the demo partner are refused at start-up, as in production (the e2e system,
  which seeds them, runs as dev).
- `staging`, `prod`: every key and secret must be set; demo values, placeholders
  (`change-me`, `replace-me`, `placeholder`, ...), symmetric keys shorter than 32
  characters and demo data are refused at start-up.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Literal, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from . import identity

log = logging.getLogger("wiser.settings")

DEMO_SECRETS = frozenset(
    {
        "demo-secret",
        "demo-password",
        "dev-partner-token-key-change-me-0123456789",
        "lkmEalAzjmWSOdjF-clDIbA8T4j2ZobgKk8WjJDl7SY=",
        "dev-phi-index-key-change-me-0123456789abcdef",
        "dev-broker-password",
        "q3n7w1pV0b8Q5d3Kx2hY9mL4sT6eR1uA0cF8gJ2iN5o=",  # seal.DEMO_SEAL_KEYS
        *identity.DEMO_PRIVATE_KEYS.values(),
    }
)
PLACEHOLDER_MARKERS = ("change-me", "changeme", "replace-me", "replaceme", "placeholder", "<")
MIN_SECRET_LENGTH = 32
# Where the demo keys and secrets are the defaults, and where demo users and partners may exist.
DEMO_KEY_ENVS = frozenset({"dev", "test"})
DEMO_DATA_ENVS = frozenset({"dev"})

# Settings every service shares: WISER_<SVC>_<NAME> wins, else the deployment-wide WISER_<NAME>.
SHARED_ENV = {
    "env": "WISER_ENV",
    "amqp_url": "WISER_AMQP_URL",
    "amqp_admin_url": "WISER_AMQP_ADMIN_URL",
    "identity_public_keys": "WISER_IDENTITY_PUBLIC_KEYS",
    "phi_keys": "WISER_PHI_KEYS",
    "phi_index_key": "WISER_PHI_INDEX_KEY",
    # Webhooks: the key sealing signing secrets from intake to outbound; host:port pairs allowed in dev/test.
    "webhook_seal_keys": "WISER_WEBHOOK_SEAL_KEYS",
    "webhook_allow": "WISER_WEBHOOK_ALLOW",
}


def is_placeholder(value: str) -> bool:
    lowered = value.lower()
    return any(marker in lowered for marker in PLACEHOLDER_MARKERS)


@lru_cache(maxsize=16)
def _verifier(public_keys: str) -> identity.IdentityVerifier:
    return identity.IdentityVerifier.from_setting(public_keys)


@lru_cache(maxsize=16)
def _signing_key(private_key: str) -> Ed25519PrivateKey:
    return identity.load_private_key(private_key)


class ServiceSettings(BaseSettings):
    """What every service needs: where its database and broker are, how it traces and logs."""

    # Errors never echo the input: it holds keys and secrets.
    model_config = SettingsConfigDict(extra="ignore", env_file=None, hide_input_in_errors=True)

    env: Literal["dev", "test", "staging", "prod"]
    service_name: str = "service"
    db_schema: str = "public"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/wiser"
    # Used by `migrate` only: creates the service's role and schema, then runs Alembic.
    database_admin_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/wiser"
    db_pool_size: int = 16
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    quorum_queues: bool = True
    outbox_relay_enabled: bool = True
    # The bus (see wiser_servicekit.consumer): `migrate` declares the topology with the admin URL.
    amqp_admin_url: str | None = None
    broker_user_prefix: str = "wiser-"  # the broker user of service X is <prefix>X
    verify_producers: bool = True  # park messages whose AMQP user_id is not their owning service's user
    consumer_concurrency: int = 32  # packets handled at once per replica
    prefetch: int = 64  # per partition
    retry_delays: tuple[float, ...] = (0.2, 1.0, 5.0, 15.0)
    defer_budget_seconds: float = 120.0  # how long an early trigger may wait for what makes it legal
    lease_ttl_seconds: float = 10.0
    lease_interval_seconds: float = 2.0
    # This service's own Ed25519 private key (WISER_<SVC>_IDENTITY_PRIVATE_KEY: base64 of the raw 32 bytes, or
    # PEM): signs its own calls as issuer wiser-<service>; the gateway's also signs people's tokens.
    # Empty in dev and test: the service's demo key.
    identity_private_key: str = ""
    # Public keys of every issuer this service trusts (WISER_IDENTITY_PUBLIC_KEYS):
    # "wiser-gateway=<base64>,wiser-validation=<base64>,...". Empty in dev and test: the demo keys.
    identity_public_keys: str = ""
    otel_exporter: Literal["none", "console", "otlp", "memory"] = "none"
    otel_endpoint: str | None = None
    log_level: str = "INFO"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    # The proxies (load balancer, ingress) whose X-Forwarded-For is believed: comma-separated addresses or
    # networks. Empty: the peer's own address is the client's, whatever a request says.
    trusted_proxies: str = ""

    @model_validator(mode="before")
    @classmethod
    def _shared_environment(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for field, variable in SHARED_ENV.items():
                if field in cls.model_fields and field not in data and variable in os.environ:
                    data[field] = os.environ[variable]
            if not data.get("env"):
                raise ValueError("WISER_ENV is not set: say dev, test, staging or prod")
        return data

    @property
    def identity_issuer(self) -> str:
        return identity.issuer_for(self.service_name)

    def identity_verifier(self) -> identity.IdentityVerifier:
        """Checks identity tokens against the public keys this service trusts."""
        return _verifier(self.identity_public_keys)

    def signing_key(self) -> Ed25519PrivateKey:
        """This service's own Ed25519 private key."""
        if not self.identity_private_key:
            raise RuntimeError(f"{self.service_name}: no identity private key configured")
        return _signing_key(self.identity_private_key)

    def secret_settings(self) -> dict[str, str]:
        """Symmetric secrets by setting name; services add theirs. Outside dev and test they must be real."""
        return {}

    def url_settings(self) -> dict[str, str]:
        """URLs that may carry credentials: placeholders in them are refused outside dev and test."""
        return {
            "amqp_url": self.amqp_url,
            "database_url": self.database_url,
            "database_admin_url": self.database_admin_url,
            "amqp_admin_url": self.amqp_admin_url or "",
        }

    @model_validator(mode="after")
    def _check_keys_and_secrets(self) -> ServiceSettings:
        self._identity_keys()
        if self.env not in DEMO_KEY_ENVS:
            self._refuse_unsafe_secrets()
        return self

    def _identity_keys(self) -> None:
        name, demo = self.service_name, self.env in DEMO_KEY_ENVS
        if demo and not self.identity_private_key:
            self.identity_private_key = identity.DEMO_PRIVATE_KEYS.get(self.identity_issuer, "")
        if demo and not self.identity_public_keys:
            self.identity_public_keys = identity.DEMO_PUBLIC_KEYS_SETTING
        keygen = "make keys with `python -m wiser_servicekit.identity keygen <service>`"
        if is_placeholder(self.identity_private_key):
            raise ValueError(f"{name}: identity_private_key is a placeholder; {keygen}")
        if is_placeholder(self.identity_public_keys):
            raise ValueError(f"{name}: WISER_IDENTITY_PUBLIC_KEYS holds a placeholder; {keygen}")
        private = None
        if self.identity_private_key:
            try:
                private = identity.load_private_key(self.identity_private_key)
            except ValueError as e:
                raise ValueError(f"{name}: identity_private_key is not an Ed25519 private key ({e})") from None
        try:
            public = identity.parse_public_keys(self.identity_public_keys)
        except ValueError as e:
            raise ValueError(f"{name}: WISER_IDENTITY_PUBLIC_KEYS is malformed ({e})") from None
        if demo:
            return
        where = f"when WISER_ENV={self.env}"
        if private is None:
            raise ValueError(f"{name}: WISER_{name.upper()}_IDENTITY_PRIVATE_KEY is required {where}")
        if identity.is_demo_key(private):
            raise ValueError(f"{name}: the demo identity private key is refused {where}")
        if identity.GATEWAY not in public:
            raise ValueError(f"{name}: WISER_IDENTITY_PUBLIC_KEYS must hold the key of {identity.GATEWAY} {where}")
        demo_issuers = sorted(i for i, keys in public.items() if any(identity.is_demo_key(k) for k in keys))
        if demo_issuers:
            raise ValueError(f"{name}: demo public keys are refused {where}: {', '.join(demo_issuers)}")

    def _refuse_unsafe_secrets(self) -> None:
        name, where = self.service_name, f"when WISER_ENV={self.env}"
        for setting, value in self.secret_settings().items():
            if value in DEMO_SECRETS:
                raise ValueError(f"{name}: {setting} is a demo secret, refused {where}")
            if is_placeholder(value):
                raise ValueError(f"{name}: {setting} is a placeholder, refused {where}")
            if len(value) < MIN_SECRET_LENGTH:
                raise ValueError(f"{name}: {setting} is shorter than {MIN_SECRET_LENGTH} characters, refused {where}")
        for setting, value in self.url_settings().items():
            if is_placeholder(value):
                raise ValueError(f"{name}: {setting} holds a placeholder, refused {where}")


class DemoDataRefused(RuntimeError):
    """Demo users or partners exist where only real ones may."""


def demo_data_allowed(env: str) -> bool:
    return env in DEMO_DATA_ENVS


def refuse_demo_data(settings: ServiceSettings, found: Sequence[str]) -> None:
    """Stop start-up (with one clear log line) when demo data exists outside dev."""
    if found and not demo_data_allowed(settings.env):
        message = (
            f"{settings.service_name}: refusing to start with WISER_ENV={settings.env}:"
            f" demo data present ({', '.join(found)}); remove it or deactivate it first"
        )
        log.critical(message)
        raise DemoDataRefused(message)


S = TypeVar("S", bound=ServiceSettings)


def load_settings(cls: type[S]) -> S:
    """The service's settings from the environment, or exit with one clear line saying what is wrong."""
    try:
        return cls()
    except ValidationError as e:
        reasons = "; ".join(str(err.get("msg", "")).removeprefix("Value error, ") for err in e.errors())
        logging.basicConfig()
        log.critical("refusing to start: %s", reasons)
        raise SystemExit(2) from None
