"""Users, sign-in with lockout, sessions with idle and absolute timeouts."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wiser_servicekit.clients import HashPool

from ..adapters.tables import sessions as sessions_table
from ..adapters.tables import users
from ..domain.auth import ROLES, SessionPolicy

hasher = PasswordHasher()
_DUMMY_HASH = hasher.hash(secrets.token_hex(16))


def now() -> datetime:
    return datetime.now(UTC)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    username: str
    display_name: str
    roles: frozenset[str]
    active: bool


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str
    token_hash: str


def _user(row: Any) -> User:
    return User(row.id, row.username, row.display_name, frozenset(row.roles), row.active)


class SignInFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_roles(roles: list[str]) -> list[str]:
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise ValueError(f"unknown or missing roles: {unknown}")
    return sorted(set(roles))


async def upsert_user(session: AsyncSession, username: str, display_name: str, password: str, roles: list[str]) -> None:
    values = {
        "display_name": display_name,
        "password_hash": hasher.hash(password),
        "roles": check_roles(roles),
        "active": True,
        "updated_at": now(),
    }
    await session.execute(
        insert(users)
        .values(id=uuid.uuid4(), username=username, **values)
        .on_conflict_do_update(index_elements=[users.c.username], set_=values)
    )


DEMO_PASSWORD = "demo-password"  # noqa: S105 - the demo users' password (dev only); found and refused elsewhere


async def demo_users(
    sessions: async_sessionmaker[AsyncSession], passwords: Iterable[str] = (DEMO_PASSWORD,)
) -> list[str]:
    """Active demo users: named after a role, marked "(demo)" or still signing in with a demo password."""
    async with sessions() as session:
        rows = (
            await session.execute(
                select(users.c.username, users.c.display_name, users.c.password_hash).where(
                    users.c.username.in_(ROLES), users.c.active.is_(True)
                )
            )
        ).all()
    found = []
    for row in rows:
        if row.display_name.endswith("(demo)") or any(_matches(row.password_hash, p) for p in passwords):
            found.append(row.username)
    return sorted(found)


def _matches(password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def create_user(session: AsyncSession, username: str, display_name: str, password: str, roles: list[str]) -> User:
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{2,79}", username):
        raise ValueError("usernames are 3 to 80 lower-case letters, digits, dots, dashes or underscores")
    if not display_name.strip():
        raise ValueError("a name is required")
    if len(password) < 12:
        raise ValueError("passwords have at least 12 characters")
    user_id = uuid.uuid4()
    await session.execute(
        users.insert().values(
            id=user_id,
            username=username,
            display_name=display_name,
            password_hash=hasher.hash(password),
            roles=check_roles(roles),
        )
    )
    return User(user_id, username, display_name, frozenset(roles), True)


async def list_users(session: AsyncSession) -> list[User]:
    return [_user(r) for r in (await session.execute(select(users).order_by(users.c.username))).all()]


async def set_user(
    session: AsyncSession, user_id: uuid.UUID, *, roles: list[str] | None = None, active: bool | None = None
) -> User | None:
    values: dict[str, Any] = {"updated_at": now()}
    if roles is not None:
        values["roles"] = check_roles(roles)
    if active is not None:
        values["active"] = active
    row = (
        await session.execute(update(users).where(users.c.id == user_id).values(**values).returning(*users.c))
    ).first()
    if row is not None and active is False:
        await session.execute(
            update(sessions_table)
            .where(sessions_table.c.user_id == user_id, sessions_table.c.revoked_at.is_(None))
            .values(revoked_at=now())
        )
    return _user(row) if row else None


async def authenticate(
    sessions: async_sessionmaker[AsyncSession], username: str, password: str, hashes: HashPool | None = None
) -> User:
    """The user, or SignInFailed('invalid') for an unknown or inactive name and a wrong password alike.

    The password hash (argon2, tens of ms of CPU) is verified in a thread, after the row is read and its
    connection returned to the pool: no row lock or pooled connection waits on it. Throttling and the lockout
    (of a name from one address) are the caller's CredentialGuard's.
    """
    async with sessions() as session:
        row = (await session.execute(select(users).where(users.c.username == username))).first()
    stored = row.password_hash if row is not None and row.active else None
    ok = await (hashes or HashPool()).run(_verify, stored, password)
    if not ok or row is None:
        raise SignInFailed("invalid")
    return _user(row)


def _verify(stored: str | None, password: str) -> bool:
    """Verify against a dummy hash when there is no user, so timing does not tell names apart."""
    try:
        hasher.verify(stored or _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return stored is not None


def _burn(password: str) -> None:
    """Spend the time of a real verification so unknown usernames cannot be told apart by timing."""
    try:
        hasher.verify(_DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        pass


async def open_session(
    sessions: async_sessionmaker[AsyncSession], user: User, policy: SessionPolicy, ip: str | None
) -> tuple[str, str]:
    """A new session: (cookie token, CSRF token). Only the token's hash is stored."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    t = now()
    async with sessions() as session, session.begin():
        await session.execute(
            sessions_table.insert().values(
                token_hash=token_hash(token),
                user_id=user.id,
                csrf_token=csrf,
                created_at=t,
                last_seen_at=t,
                expires_at=t + policy.absolute,
                ip=ip,
            )
        )
    return token, csrf


async def resolve_session(
    sessions: async_sessionmaker[AsyncSession], token: str, policy: SessionPolicy
) -> Session | None:
    """The live session for a cookie token (and mark it seen), or None if unknown, expired, idle or revoked."""
    t = now()
    hashed = token_hash(token)
    async with sessions() as session, session.begin():
        row = (
            await session.execute(
                select(sessions_table, users.c.username, users.c.display_name, users.c.roles, users.c.active)
                .join(users, users.c.id == sessions_table.c.user_id)
                .where(sessions_table.c.token_hash == hashed, sessions_table.c.revoked_at.is_(None))
            )
        ).first()
        if row is None or not row.active or not policy.alive(row.last_seen_at, row.expires_at, t):
            return None
        if (t - row.last_seen_at).total_seconds() > 30:
            await session.execute(
                update(sessions_table).where(sessions_table.c.token_hash == hashed).values(last_seen_at=t)
            )
    user = User(row.user_id, row.username, row.display_name, frozenset(row.roles), row.active)
    return Session(user, row.csrf_token, hashed)


async def close_session(sessions: async_sessionmaker[AsyncSession], hashed: str) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            update(sessions_table).where(sessions_table.c.token_hash == hashed).values(revoked_at=now())
        )
