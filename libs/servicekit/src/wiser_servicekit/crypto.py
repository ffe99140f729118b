"""Column-level encryption for PHI at rest, and blind indexes to find a value without storing it.

Fernet (AES-128-CBC with HMAC-SHA256) through MultiFernet, so keys rotate: the
first key encrypts, every key decrypts. A blind index is an HMAC-SHA256 of the
normalised value under a separate key: equal values match, nothing is readable.
Names are found by prefix through `name_index`: one keyed token per word and per
leading part of a word (3 characters and up), so "smi" finds Smith without any
name being stored readable.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import unicodedata
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

    def encrypt_text(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt_text(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as e:
            raise ValueError("a PHI column could not be decrypted with the configured keys") from e

    def _token(self, part: str) -> int:
        digest = hmac.new(self._index_key, b"name:" + part.encode(), hashlib.sha256).digest()
        return int.from_bytes(digest[:8], "big", signed=True)  # 64 bits: a bigint[] with a GIN index

    def name_index(self, *names: str) -> list[int]:
        """The keyed tokens stored for a person's names: each word, and each word's prefixes of
        `NAME_PREFIX_MIN` characters and more (so prefix search works without the name)."""
        tokens: set[int] = set()
        for word in name_words(" ".join(names)):
            tokens.add(self._token(word))
            for end in range(NAME_PREFIX_MIN, len(word)):
                tokens.add(self._token(word[:end]))
        return sorted(tokens)

    def name_query(self, term: str) -> list[int]:
        """The tokens a search term must all match: each word as typed, as a whole word or a word's start.
        (A word shorter than `NAME_PREFIX_MIN` matches whole words only.)"""
        return sorted({self._token(word) for word in name_words(term)})


NAME_PREFIX_MIN = 3
NAME_WORD_MAX = 40
_NOT_WORD = re.compile(r"[\W_]+")


def name_words(text: str) -> list[str]:
    """Normalised words of a name: accents folded, case folded, apostrophes dropped (O'Brien → obrien),
    split on anything else that is not a letter or digit (Smith-Jones → smith, jones)."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c)).casefold()
    folded = folded.replace("'", "").replace("\u2019", "")
    return [w[:NAME_WORD_MAX] for w in _NOT_WORD.split(folded) if w]


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


class EncryptedText(TypeDecorator[str]):
    """A text value stored encrypted (free-text reasons, notes, file names): reads and writes see plain text."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else cipher().encrypt_text(str(value))

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else cipher().decrypt_text(value)
