"""Outbound settings (env prefix WISER_OUTBOUND_; WISER_ENV, WISER_AMQP_URL, WISER_IDENTITY_PUBLIC_KEYS, WISER_PHI_*,
WISER_WEBHOOK_SEAL_KEYS, WISER_WEBHOOK_ALLOW shared)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from wiser_servicekit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WISER_OUTBOUND_", extra="ignore")

    service_name: str = "outbound"
    db_schema: str = "outbound"
    database_url: str = "postgresql+asyncpg://wiser_outbound@127.0.0.1:5432/wiser"
    http_port: int = 8005
    intake_url: str = "http://127.0.0.1:8101"  # intake's ops API (internal port)
    letters_url: str = "http://127.0.0.1:8004"
    # Peers (the sandbox in dev and tests).
    fax_url: str = "http://127.0.0.1:8009/fax/v1"
    fax_api_key: str = "dev-fax-api-key-change-me-0123456789abcd"
    fax_callback_secret: str = "dev-fax-callback-secret-change-me-012345"  # noqa: S105 - refused outside dev
    mail_url: str = "http://127.0.0.1:8009/mail/v1"
    mail_api_key: str = "dev-mail-api-key-change-me-012345678901"
    mail_callback_secret: str = "dev-mail-callback-secret-change-me-01234"  # noqa: S105 - refused outside dev
    esmd_url: str = "http://127.0.0.1:8009/esmd/v1"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_from: str = "letters@wiser.example"
    # The provider's message log (what its SMTP server accepted, by Message-ID): asked after a crash mid-send.
    email_status_url: str = "http://127.0.0.1:8009/email/v1"
    # The sandbox's SMTP certificate is self-signed: dev and test may skip verifying it, nothing else may.
    smtp_insecure_tls: bool = False

    def smtp_verify_tls(self) -> bool:
        return not (self.smtp_insecure_tls and self.env in ("dev", "test"))

    # Where providers send their status callbacks (our public callback base URL).
    callback_base_url: str = "http://127.0.0.1:8005"
    # Where a partner fetches its letter (the email notice names it; never the letter itself).
    portal_url: str = "http://127.0.0.1:8000"
    # PHI at rest (addresses, fax numbers): Fernet keys, the first encrypts.
    phi_keys: str = "lkmEalAzjmWSOdjF-clDIbA8T4j2ZobgKk8WjJDl7SY="
    phi_index_key: str = "dev-phi-index-key-change-me-0123456789abcdef"
    webhook_seal_keys: str = "q3n7w1pV0b8Q5d3Kx2hY9mL4sT6eR1uA0cF8gJ2iN5o="
    webhook_allow: str = ""  # host:port pairs allowed although private (dev and test only)
    webhook_timeout: float = 10.0
    # Handled events kept for a registration that reaches outbound after its partner's first events (minutes).
    webhook_catch_up_minutes: float = 60.0
    # Retry schedules (fixed-delay tiers, seconds) and budgets per channel, the defaults of `channel_settings`.
    webhook_delays: str = "10,30,60,300,900,1800,3600,7200,14400"
    webhook_budget_seconds: float = 28 * 3600  # the last attempt lands past 24 h (PARTNER_API.md: at least 24 h)
    fax_delays: str = "60,300,900,1800,3600"
    fax_budget_seconds: float = 6 * 3600
    mail_delays: str = "60,300,900,1800,3600"
    mail_budget_seconds: float = 6 * 3600
    esmd_delays: str = "60,300,900,1800,3600"
    esmd_budget_seconds: float = 6 * 3600
    email_delays: str = "60,300,900,1800,3600"
    email_budget_seconds: float = 6 * 3600
    peer_timeout: float = 10.0
    breaker_threshold: int = 5
    breaker_reset_seconds: float = 30.0
    # The scheduler: how often it looks for due work, how much it takes at once, how long a claim holds.
    poll_seconds: float = 1.0
    batch: int = 20
    claim_seconds: float = 120.0

    def allow_list(self) -> tuple[str, ...]:
        if self.env not in ("dev", "test"):
            return ()
        return tuple(a.strip().lower() for a in self.webhook_allow.split(",") if a.strip())

    def secret_settings(self) -> dict[str, str]:
        phi = {f"phi_keys[{i}]": k for i, k in enumerate(self.phi_keys.split(","))}
        seal = {f"webhook_seal_keys[{i}]": k for i, k in enumerate(self.webhook_seal_keys.split(","))}
        return {
            **phi,
            "phi_index_key": self.phi_index_key,
            **seal,
            "fax_api_key": self.fax_api_key,
            "fax_callback_secret": self.fax_callback_secret,
            "mail_api_key": self.mail_api_key,
            "mail_callback_secret": self.mail_callback_secret,
        }
