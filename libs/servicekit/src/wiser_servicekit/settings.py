"""Settings base every service extends (env prefix WISER_<SVC>_)."""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEMO_SECRETS = frozenset(
    {
        "demo-secret",
        "demo-password",
        "dev-identity-key-change-me-0123456789abcdef",
        "dev-partner-token-key-change-me-0123456789",
        "lkmEalAzjmWSOdjF-clDIbA8T4j2ZobgKk8WjJDl7SY=",
        "dev-phi-index-key-change-me-0123456789abcdef",
        "dev-broker-password",
    }
)


# Settings every service shares: WISER_<SVC>_<NAME> wins, else the deployment-wide WISER_<NAME>.
SHARED_ENV = {
    "env": "WISER_ENV",
    "amqp_url": "WISER_AMQP_URL",
    "amqp_admin_url": "WISER_AMQP_ADMIN_URL",
    "identity_key": "WISER_IDENTITY_KEY",
    "phi_keys": "WISER_PHI_KEYS",
    "phi_index_key": "WISER_PHI_INDEX_KEY",
}


class ServiceSettings(BaseSettings):
    """What every service needs: where its database and broker are, how it traces and logs."""

    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    env: Literal["dev", "test", "staging", "prod"] = "dev"
    service_name: str = "service"
    db_schema: str = "public"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/wiser"
    # Used by `migrate` only: creates the service's role and schema, then runs Alembic.
    database_admin_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/wiser"
    db_pool_size: int = 10
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
    # Key for the short-lived identity tokens the gateway issues (HS256).
    identity_key: str = "dev-identity-key-change-me-0123456789abcdef"
    identity_issuer: str = "wiser-gateway"
    otel_exporter: Literal["none", "console", "otlp", "memory"] = "none"
    otel_endpoint: str | None = None
    log_level: str = "INFO"
    http_host: str = "127.0.0.1"
    http_port: int = 8000

    @model_validator(mode="before")
    @classmethod
    def _shared_environment(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for field, variable in SHARED_ENV.items():
                if field in cls.model_fields and field not in data and variable in os.environ:
                    data[field] = os.environ[variable]
        return data

    def secret_values(self) -> list[str]:
        """Values that must not be demo secrets outside dev; services add theirs."""
        from urllib.parse import unquote, urlsplit

        return [self.identity_key, unquote(urlsplit(self.amqp_url).password or "")]

    @model_validator(mode="after")
    def _refuse_demo_secrets_outside_dev(self) -> ServiceSettings:
        if self.env not in ("dev", "test") and any(v in DEMO_SECRETS for v in self.secret_values()):
            raise ValueError(f"{self.service_name}: demo secrets are refused when WISER_ENV={self.env}")
        return self
