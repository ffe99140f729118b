"""Letters settings (env prefix WISER_LETTERS_; WISER_ENV, WISER_AMQP_URL, WISER_IDENTITY_PUBLIC_KEYS shared)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from wiser_servicekit.settings import ServiceSettings

from .domain.model import Address, Contact


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WISER_LETTERS_", extra="ignore")

    service_name: str = "letters"
    db_schema: str = "letters"
    database_url: str = "postgresql+asyncpg://wiser_letters@127.0.0.1:5432/wiser"
    http_port: int = 8004
    # Peers: intake's ops API (the packet), clinical (the determination), validation (reference data).
    intake_url: str = "http://127.0.0.1:8101"  # intake's ops API (internal port)
    clinical_url: str = "http://127.0.0.1:8003"
    validation_url: str = "http://127.0.0.1:8002"
    peer_timeout: float = 10.0
    # How often merits decisions still waiting for their UTN are looked at again (clinical may know it).
    utn_sweep_seconds: float = 5.0
    # PDFs in S3, encrypted (SSE), keyed by letter id and version.
    s3_endpoint_url: str | None = "http://127.0.0.1:9000"
    s3_bucket: str = "wiser-letters"
    s3_region: str = "us-east-1"
    s3_access_key: str = "wiser-dev"
    s3_secret_key: str = "wiser-dev-secret"  # noqa: S105 - local S3 only; real deployments use the AWS chain
    s3_sse: str = "AES256"
    # Policy (STATE_MACHINE.md T14): an affirmation that passes every check is approved without a person.
    auto_approve_affirmations: bool = False
    # The review organisation's contact block on every letter.
    org_name: str = "Garden State Review Partners"
    org_address_line1: str = "100 Review Way"
    org_city: str = "Trenton"
    org_state: str = "NJ"
    org_zip: str = "08608"
    org_phone: str = "1-800-555-0142"
    org_fax: str = "1-800-555-0143"
    org_tty: str = "711"
    org_hours: str = "Monday to Friday, 8 a.m. to 6 p.m. Eastern"
    org_website: str = "www.example.org/wiser"
    # Peer-to-peer instructions when clinical's determination carries none.
    peer_to_peer_phone: str = "1-800-555-0150"
    peer_to_peer_hours: str = "weekdays 9 a.m. to 5 p.m. Eastern"
    peer_to_peer_how: str = "Ask for the medical director on call and name the UTN."

    def contact(self) -> Contact:
        return Contact(
            organisation=self.org_name,
            address=Address(line1=self.org_address_line1, city=self.org_city, state=self.org_state, zip=self.org_zip),
            phone=self.org_phone,
            fax=self.org_fax,
            hours=self.org_hours,
            website=self.org_website,
            tty=self.org_tty,
        )

    # PHI at rest (the letter models it keeps to redraw a version): Fernet keys, the first encrypts.
    phi_keys: str = "lkmEalAzjmWSOdjF-clDIbA8T4j2ZobgKk8WjJDl7SY="
    phi_index_key: str = "dev-phi-index-key-change-me-0123456789abcdef"

    def secret_settings(self) -> dict[str, str]:
        phi = {f"phi_keys[{i}]": k for i, k in enumerate(self.phi_keys.split(","))}
        s3 = {"s3_secret_key": self.s3_secret_key} if self.s3_access_key else {}
        return {**phi, "phi_index_key": self.phi_index_key, **s3}
