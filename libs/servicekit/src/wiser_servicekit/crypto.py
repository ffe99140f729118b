"""Column-level encryption for PHI at rest, and blind indexes to find a value without storing it.

Fernet (AES-128-CBC with HMAC-SHA256) through MultiFernet, so keys rotate: the
first key encrypts, every key decrypts. A blind index is an HMAC-SHA256 of the
normalised value under a separate key: equal values match, nothing is readable.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator


class FieldCipher:
    def __init__(self, keys: str | list[str], index_key: str) -> None:
        key_list = [k.strip() for k in (keys.split(",") if isinstance(keys, str) else keys) if k.strip()]
        if not key_list:
            raise ValueError("at least one encryption key is required")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in key_list])
        self._index_key = index_key.encode()

    def encrypt_json(self, value: Any) -> str:
        return self._fernet.encrypt(json.dumps(value, separators=(",", ":")).encode()).decode()

    def decrypt_json(self, token: str) -> Any:
        try:
            return json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken as e:
            raise ValueError("a PHI column could not be decrypted with the configured keys") from e

    def blind_index(self, value: str) -> str:
        return hmac.new(self._index_key, value.strip().upper().encode(), hashlib.sha256).hexdigest()


_cipher: FieldCipher | None = None


def configure_cipher(cipher: FieldCipher) -> None:
    """Install the process's cipher (the composition root does this once)."""
    global _cipher
    _cipher = cipher


def cipher() -> FieldCipher:
    if _cipher is None:
        raise RuntimeError("no PHI cipher configured")
    return _cipher


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON value stored encrypted (text); reads and writes look like a JSON column to the code."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else cipher().encrypt_json(value)

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return None if value is None else cipher().decrypt_json(value)
