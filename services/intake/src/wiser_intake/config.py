"""Intake settings (env prefix WISER_INTAKE_; WISER_ENV, WISER_AMQP_URL, WISER_IDENTITY_PUBLIC_KEYS, WISER_PHI_*
shared)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from wiser_servicekit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WISER_INTAKE_", extra="ignore")

    service_name: str = "intake"
    db_schema: str = "intake"
    database_url: str = "postgresql+asyncpg://wiser_intake@127.0.0.1:5432/wiser"
    http_port: int = 8001
    workers: int = 1
    partner_token_key: str = "dev-partner-token-key-change-me-0123456789"  # noqa: S105 - refused outside dev
    partner_token_ttl: int = 3600
    # PHI at rest: Fernet keys (comma-separated, the first encrypts) and the key of the MBI's blind index.
    phi_keys: str = "lkmEalAzjmWSOdjF-clDIbA8T4j2ZobgKk8WjJDl7SY="
    phi_index_key: str = "dev-phi-index-key-change-me-0123456789abcdef"
    s3_endpoint_url: str | None = "http://127.0.0.1:9000"
    s3_bucket: str = "wiser-intake-documents"
    s3_region: str = "us-east-1"
    s3_access_key: str = "wiser-dev"
    s3_secret_key: str = "wiser-dev-secret"  # noqa: S105 - local S3 only; real deployments use the AWS chain
    s3_sse: str = "AES256"
    letters_url: str = "http://127.0.0.1:8004"
    at_risk_hours: int = 24
    housekeeping_interval: float = 30.0
    demo_partner_id: str = "demo-partner"
    demo_partner_secret: str = "demo-secret"  # noqa: S105 - only seeded when env=dev
    # How long a person's command token keeps its authority, from when the gateway issued it: a command
    # retried or replayed from the dead-letter queue later than this is refused.
    command_token_max_age: int = 24 * 3600

    def secret_settings(self) -> dict[str, str]:
        phi = {f"phi_keys[{i}]": k for i, k in enumerate(self.phi_keys.split(","))}
        return {"partner_token_key": self.partner_token_key, **phi, "phi_index_key": self.phi_index_key}
