"""Validation settings (env prefix WISER_VALIDATION_; WISER_ENV, WISER_AMQP_URL, WISER_IDENTITY_PUBLIC_KEYS, WISER_PHI_*
shared)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from wiser_servicekit.settings import ServiceSettings

from .domain.identifiers import npi_is_well_formed

DEMO_RECEIVER_NPI = "1234567893"  # the sandbox HETS's registered receiver; refused in staging and prod


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WISER_VALIDATION_", extra="ignore")

    service_name: str = "validation"
    db_schema: str = "validation"
    database_url: str = "postgresql+asyncpg://wiser_validation@127.0.0.1:5432/wiser"
    http_port: int = 8002
    intake_url: str = "http://127.0.0.1:8101"  # intake's ops API (internal port)
    # Peers (the sandbox in dev and tests; the real endpoints in production).
    hets_url: str = "http://127.0.0.1:8009/hets/270"
    hets_sender_id: str = "WISERREVIEW"
    hets_receiver_id: str = "CMS"
    # The information receiver of every 270 (loop 2100B): this organisation, as enrolled with HETS.
    information_receiver_name: str = Field(default="WISER REVIEW ORGANISATION", min_length=1, max_length=60)
    information_receiver_npi: str = DEMO_RECEIVER_NPI
    # The states this deployment serves (comma separated); empty: all six WISeR states of the reference data.
    # Separate from the WISeR states themselves, which "practising in a WISeR state" is judged against.
    served_states: str = ""
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

    @field_validator("information_receiver_npi")
    @classmethod
    def _npi(cls, value: str) -> str:
        if not npi_is_well_formed(value):
            raise ValueError("information_receiver_npi must be 10 digits with a valid check digit")
        return value

    @field_validator("served_states")
    @classmethod
    def _states(cls, value: str) -> str:
        states = [s.strip().upper() for s in value.split(",") if s.strip()]
        if any(len(s) != 2 or not s.isalpha() for s in states):
            raise ValueError("served_states must be two-letter state codes separated by commas")
        return ",".join(states)

    @model_validator(mode="after")
    def _real_receiver(self) -> Settings:
        if self.env not in ("dev", "test") and self.information_receiver_npi == DEMO_RECEIVER_NPI:
            raise ValueError(
                f"validation: WISER_VALIDATION_INFORMATION_RECEIVER_NPI must be this organisation's NPI "
                f"when WISER_ENV={self.env} (the sandbox's {DEMO_RECEIVER_NPI} is refused)"
            )
        return self

    def served(self) -> frozenset[str] | None:
        """The served states, or None for all WISeR states."""
        return frozenset(self.served_states.split(",")) if self.served_states else None

    def secret_settings(self) -> dict[str, str]:
        phi = {f"phi_keys[{i}]": k for i, k in enumerate(self.phi_keys.split(","))}
        return {**phi, "phi_index_key": self.phi_index_key}
