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
    # The ops API and /metrics listen here, apart from the partner API, so a network policy keeps them internal.
    ops_port: int = 8101
    workers: int = 1
    partner_token_key: str = "dev-partner-token-key-change-me-0123456789"  # noqa: S105 - refused outside dev
    partner_token_ttl: int = 3600
    # /oauth/token under attack: attempts per address, failures per client id (from anywhere) and per address
    # (for any client id) per minute, and how many failures lock a client id out from one address, for how long
    # (wiser_servicekit.guard).
    token_per_address_per_minute: int = 60
    token_failures_per_client_per_minute: int = 30
    token_failures_per_address_per_minute: int = 6  # a minute's worth at once: lockouts (5) stay reachable
    token_lock_after: int = 5
    token_lock_minutes: int = 15
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
    # Webhook receivers allowed in dev and test whatever their address (host or host:port, comma-separated):
    # the sandbox's and the tests' own. Ignored elsewhere, where only public https URLs are accepted.
    webhook_allow_hosts: str = "127.0.0.1:8009,localhost:8009"
    # Validation's reference API: the dismissal reasons in force (read, then kept this many seconds).
    validation_url: str = "http://127.0.0.1:8002"
    reference_cache_seconds: float = 60.0
    at_risk_hours: int = 24
    housekeeping_interval: float = 30.0
    # How often housekeeping also deletes document objects whose row never committed (older than an hour).
    orphan_sweep_interval: float = 3600.0
    demo_partner_id: str = "demo-partner"
    demo_partner_secret: str = "demo-secret"  # noqa: S105 - only seeded when env=dev
    # How long a person's command token keeps its authority, from when the gateway issued it: a command
    # retried or replayed from the dead-letter queue later than this is refused.
    command_token_max_age: int = 24 * 3600
    # The intake channel each partner client is registered for (PARTNER_API.md): client_id=channel pairs;
    # a client not named here is `api`. Dev seeds one demo client per other channel.
    client_channels: str = "demo-esmd=esmd,demo-fax=fax,demo-mail=mail,demo-portal=portal"

    def channel_of(self, client_id: str) -> str:
        pairs = (p.split("=", 1) for p in self.client_channels.split(",") if "=" in p)
        return {k.strip(): v.strip() for k, v in pairs}.get(client_id, "api")

    # Webhook registrations go to outbound (services/outbound/README.md) with the secret sealed under this key.
    webhook_seal_keys: str = "q3n7w1pV0b8Q5d3Kx2hY9mL4sT6eR1uA0cF8gJ2iN5o="

    def secret_settings(self) -> dict[str, str]:
        phi = {f"phi_keys[{i}]": k for i, k in enumerate(self.phi_keys.split(","))}
        seal = {f"webhook_seal_keys[{i}]": k for i, k in enumerate(self.webhook_seal_keys.split(","))}
        return {"partner_token_key": self.partner_token_key, **phi, "phi_index_key": self.phi_index_key, **seal}
