"""Gateway settings (env prefix WISER_GATEWAY_; WISER_ENV, WISER_AMQP_URL, WISER_IDENTITY_PUBLIC_KEYS shared).

Its WISER_GATEWAY_IDENTITY_PRIVATE_KEY is the one key that signs people's identity tokens.
"""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from wiser_servicekit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WISER_GATEWAY_", extra="ignore")

    service_name: str = "gateway"
    db_schema: str = "gateway"
    database_url: str = "postgresql+asyncpg://wiser_gateway@127.0.0.1:5432/wiser"
    http_port: int = 8000
    intake_url: str = "http://127.0.0.1:8001"
    validation_url: str = "http://127.0.0.1:8002"
    identity_ttl: int = 60
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    lockout_attempts: int = 5
    lockout_minutes: int = 15
    signin_per_minute: int = 30
    # Secure cookies and HSTS: on whenever the request came over TLS, or always when this is set.
    force_https: bool = False
    # The demo users' password (WISER_ENV=dev only; outside dev, users still signing in with it stop the start).
    demo_password: str = "demo-password"  # noqa: S105
    packets_page_size: int = 50
