"""Clinical settings (env prefix WISER_CLINICAL_; WISER_ENV, WISER_AMQP_URL, WISER_IDENTITY_PUBLIC_KEYS shared)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import SettingsConfigDict

from wiser_servicekit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WISER_CLINICAL_", extra="ignore")

    service_name: str = "clinical"
    db_schema: str = "clinical"
    database_url: str = "postgresql+asyncpg://wiser_clinical@127.0.0.1:5432/wiser"
    http_port: int = 8003
    # Intake's ops API (packet details and documents are read there, with clinical's own service token).
    intake_url: str = "http://127.0.0.1:8101"  # intake's ops API (internal port)
    # The MAC's UTN service (the sandbox in dev and tests).
    mac_url: str = "http://127.0.0.1:8009/mac/utn"
    mac_timeout: float = 5.0
    utn_poll_seconds: float = 1.0  # how often pending UTN requests are looked at
    utn_retry_base_seconds: float = 2.0  # first wait after the MAC fails, doubled each time
    utn_retry_max_seconds: float = 300.0
    # Cases this close to due_at (and not decided) are flagged at risk.
    at_risk_hours: float = 12.0
    # Peer-to-peer discussion offered with every non-affirmation (letters print it).
    p2p_phone: str = "1-800-555-0134"
    p2p_hours: str = "Monday to Friday, 8:00 to 18:00 Eastern"
    p2p_how: str = (
        "Call and quote the UTN to schedule a discussion with a physician of the specialty within 2 business days."
    )
    # Extra checklist files (versioned JSON) loaded on top of the packaged ones.
    reference_dir: Path | None = None
