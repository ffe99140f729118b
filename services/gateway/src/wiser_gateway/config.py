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
    intake_url: str = "http://127.0.0.1:8101"  # intake's ops API (internal port)
    validation_url: str = "http://127.0.0.1:8002"
    outbound_url: str = "http://127.0.0.1:8005"
    analytics_url: str = "http://127.0.0.1:8006"
    clinical_url: str = "http://127.0.0.1:8003"
    letters_url: str = "http://127.0.0.1:8004"
    identity_ttl: int = 60
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    # Sign-in: attempts per address per minute; failures for one username (from anywhere) per minute; a username
    # is locked out from one address after `lockout_attempts` failures there, for `lockout_minutes`.
    lockout_attempts: int = 5
    lockout_minutes: int = 15
    signin_per_minute: int = 30
    signin_failures_per_user_per_minute: int = 30
    # failures from one address for any username (an office behind one NAT shares it; people who signed in from
    # there lately are not held back by it)
    signin_failures_per_address_per_minute: int = 30
    # Secure cookies and HSTS: on whenever the request came over TLS, or always when this is set.
    force_https: bool = False
    # The demo users' password (WISER_ENV=dev only; outside dev, users still signing in with it stop the start).
    demo_password: str = "demo-password"  # noqa: S105
    packets_page_size: int = 50
