"""Partner credentials: client secrets (scrypt), API keys (sha256), access tokens (HS256 JWT)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import jwt
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from wiser_servicekit.problems import Problem

from .tables import api_keys, partner_clients

AUDIENCE = "wiser-partner-api"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, dklen=32, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def verify_secret(secret: str, stored: str) -> bool:
    try:
        _, salt_b64, digest_b64 = stored.split("$")
    except ValueError:
        return False
    digest = hashlib.scrypt(secret.encode(), salt=base64.b64decode(salt_b64), dklen=32, **_SCRYPT)
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Partner:
    client_id: str
    rate_limit_per_minute: int


def issue_token(key: str, client_id: str, ttl: int) -> str:
    now = int(time.time())
    return jwt.encode({"sub": client_id, "aud": AUDIENCE, "iat": now, "exp": now + ttl}, key, algorithm="HS256")


def token_subject(key: str, token: str) -> str | None:
    try:
        return str(jwt.decode(token, key, algorithms=["HS256"], audience=AUDIENCE)["sub"])
    except jwt.PyJWTError:
        return None


def unauthorized(detail: str = "Valid partner credentials are required.") -> Problem:
    return Problem(401, "Unauthorized", detail, code="UNAUTHENTICATED", headers={"WWW-Authenticate": "Bearer"})


class PartnerDirectory:
    """Looks partners up, with a short in-process cache (tokens are checked on every call)."""

    def __init__(self, ttl: float = 30.0) -> None:
        self._cache: dict[str, tuple[float, Partner | None]] = {}
        self._ttl = ttl

    async def by_client_id(self, session: AsyncSession, client_id: str) -> Partner | None:
        hit = self._cache.get(client_id)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        row = (
            await session.execute(
                select(partner_clients.c.client_id, partner_clients.c.rate_limit_per_minute).where(
                    partner_clients.c.client_id == client_id, partner_clients.c.active.is_(True)
                )
            )
        ).first()
        partner = Partner(row.client_id, row.rate_limit_per_minute) if row else None
        self._cache[client_id] = (time.monotonic() + self._ttl, partner)
        return partner

    async def by_api_key(self, session: AsyncSession, key: str) -> Partner | None:
        row = (
            await session.execute(
                select(partner_clients.c.client_id, partner_clients.c.rate_limit_per_minute)
                .join(api_keys, api_keys.c.client_id == partner_clients.c.client_id)
                .where(
                    api_keys.c.key_hash == hash_api_key(key),
                    api_keys.c.revoked_at.is_(None),
                    partner_clients.c.active.is_(True),
                )
            )
        ).first()
        return Partner(row.client_id, row.rate_limit_per_minute) if row else None

    async def secret_hash(self, session: AsyncSession, client_id: str) -> str | None:
        """The active client's stored secret hash (verify it with `secret_matches`, off the event loop)."""
        return await session.scalar(
            select(partner_clients.c.secret_hash).where(
                partner_clients.c.client_id == client_id, partner_clients.c.active.is_(True)
            )
        )


def secret_matches(secret: str, stored: str | None) -> bool:
    """Verify against a dummy hash when the client is unknown, so timing does not reveal client ids."""
    return verify_secret(secret, stored or _DUMMY) and stored is not None


_DUMMY = hash_secret(secrets.token_hex(8))


async def upsert_partner(
    session: AsyncSession, client_id: str, name: str, secret: str, rate_limit_per_minute: int = 6000
) -> None:
    await session.execute(
        insert(partner_clients)
        .values(
            client_id=client_id, name=name, secret_hash=hash_secret(secret), rate_limit_per_minute=rate_limit_per_minute
        )
        .on_conflict_do_update(
            index_elements=[partner_clients.c.client_id],
            set_={
                "name": name,
                "secret_hash": hash_secret(secret),
                "active": True,
                "rate_limit_per_minute": rate_limit_per_minute,
            },
        )
    )


async def active_partners(session: AsyncSession, client_ids: set[str]) -> list[str]:
    """Which of these partner clients exist and are active (the start-up check for the demo partner)."""
    rows = await session.scalars(
        select(partner_clients.c.client_id).where(
            partner_clients.c.client_id.in_(sorted(client_ids)), partner_clients.c.active.is_(True)
        )
    )
    return sorted(rows)


async def add_api_key(session: AsyncSession, client_id: str, label: str) -> str:
    key = "wsk_" + secrets.token_urlsafe(32)
    await session.execute(api_keys.insert().values(key_hash=hash_api_key(key), client_id=client_id, label=label))
    return key
