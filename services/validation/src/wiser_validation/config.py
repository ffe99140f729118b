"""Validation settings (env prefix WISER_VALIDATION_; WISER_ENV, WISER_AMQP_URL, WISER_IDENTITY_PUBLIC_KEYS, WISER_PHI_*
shared)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import SettingsConfigDict

from wiser_servicekit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WISER_VALIDATION_", extra="ignore")

    service_name: str = "validation"
    db_schema: str = "validation"
    database_url: str = "postgresql+asyncpg://wiser_validation@127.0.0.1:5432/wiser"
    http_port: int = 8002
    intake_url: str = "http://127.0.0.1:8001"
    # Peers (the sandbox in dev and tests; the real endpoints in production).
    hets_url: str = "http://127.0.0.1:8009/hets/270"
    hets_sender_id: str = "WISERREVIEW"
    hets_receiver_id: str = "CMS"
    nppes_url: str = "http://127.0.0.1:8009/nppes/api/"
    pecos_url: str = "http://127.0.0.1:8009/pecos/enrollments"
    peer_timeout: float = 5.0
    peer_attempts: int = 3
    peer_backoff: float = 0.5
    breaker_threshold: int = 5
    breaker_reset_seconds: float = 30.0
    # NPPES and PECOS answers are kept this long (the registries refresh weekly); HETS is always asked.
    registry_cache_seconds: float = 600.0
    # PHI at rest (its copy of seen packets): Fernet keys, the first encrypts; the MBI's blind-index key.
    phi_keys: str = "lkmEalAzjmWSOdjF-clDIbA8T4j2ZobgKk8WjJDl7SY="
    phi_index_key: str = "dev-phi-index-key-change-me-0123456789abcdef"
    # Extra reference files (a folder of versioned JSON files) loaded on top of the packaged ones.
    reference_dir: Path | None = None

    def secret_settings(self) -> dict[str, str]:
        phi = {f"phi_keys[{i}]": k for i, k in enumerate(self.phi_keys.split(","))}
        return {**phi, "phi_index_key": self.phi_index_key}
