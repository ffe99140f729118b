"""Analytics settings (env prefix WISER_ANALYTICS_; WISER_ENV, WISER_AMQP_URL, WISER_IDENTITY_PUBLIC_KEYS shared)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from wiser_servicekit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WISER_ANALYTICS_", extra="ignore")

    service_name: str = "analytics"
    db_schema: str = "analytics"
    database_url: str = "postgresql+asyncpg://wiser_analytics@127.0.0.1:5432/wiser"
    http_port: int = 8006
    # Intake's ops API (its own listener, :8101): the history export rebuilds read.
    intake_ops_url: str = "http://127.0.0.1:8101"
    history_export_path: str = "/api/v1/ops/history/export"
    history_page_size: int = 1000
    peer_timeout: float = 30.0
    # A packet not yet determined is "at risk" this close to its due_at.
    at_risk_hours: float = 24.0
    # Gold-card candidates (DOMAIN.md, Guide §5): at least this many requests in the period and an
    # affirmation rate above this percentage (CMS publishes the threshold; configurable here).
    gold_card_min_requests: int = 10
    gold_card_threshold_percent: float = 90.0
