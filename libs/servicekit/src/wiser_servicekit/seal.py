"""Sealing a secret for one other service (a webhook's signing secret from intake to outbound).

Fernet under keys only the two services hold (WISER_WEBHOOK_SEAL_KEYS, shared; the first seals, every
one opens, so keys rotate). A sealed value may travel on the bus: without the key it says nothing.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

DEMO_SEAL_KEYS = "q3n7w1pV0b8Q5d3Kx2hY9mL4sT6eR1uA0cF8gJ2iN5o="


class SealBroken(ValueError):
    """The sealed value was not sealed with any key held here (or was tampered with)."""


class Sealer:
    def __init__(self, keys: str) -> None:
        key_list = [k.strip() for k in keys.split(",") if k.strip()]
        if not key_list:
            raise ValueError("at least one seal key is required")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in key_list])

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as e:
            raise SealBroken("the sealed secret cannot be opened with the configured keys") from e
