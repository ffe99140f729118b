"""Short-lived identity tokens the gateway issues and every service verifies."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import jwt
from fastapi import Request

from .problems import Problem

AUDIENCE = "wiser-services"
ROLES = (
    "ops_tier1",
    "ops_tier2",
    "supervisor",
    "clinical_reviewer",
    "medical_director",
    "manager",
    "admin",
    "auditor",
    "service",  # another service's read-only look-ups (never a person)
)


@dataclass(frozen=True)
class Identity:
    user_id: str
    roles: frozenset[str]

    def has_any(self, roles: Iterable[str]) -> bool:
        return bool(self.roles & set(roles))


def issue_identity_token(
    key: str, user_id: str, roles: Iterable[str], ttl: int = 120, issuer: str = "wiser-gateway"
) -> str:
    now = int(time.time())
    claims = {"sub": user_id, "roles": sorted(roles), "iat": now, "exp": now + ttl, "iss": issuer, "aud": AUDIENCE}
    return jwt.encode(claims, key, algorithm="HS256")


def verify_identity_token(key: str, token: str, issuer: str = "wiser-gateway") -> Identity:
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=issuer,
            options={"require": ["exp", "sub", "iat"]},
        )
    except jwt.ExpiredSignatureError as e:
        raise Problem(
            401, "Identity token expired", code="TOKEN_EXPIRED", headers={"WWW-Authenticate": "Bearer"}
        ) from e
    except jwt.PyJWTError as e:
        raise Problem(
            401, "Invalid identity token", code="TOKEN_INVALID", headers={"WWW-Authenticate": "Bearer"}
        ) from e
    roles = frozenset(r for r in claims.get("roles", []) if r in ROLES)
    return Identity(user_id=str(claims["sub"]), roles=roles)


def bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value:
        raise Problem(401, "Authentication required", code="UNAUTHENTICATED", headers={"WWW-Authenticate": "Bearer"})
    return value.strip()


def identity_dependency(key_getter: Callable[[], str], issuer: str = "wiser-gateway") -> Callable[[Request], Identity]:
    """FastAPI dependency: the caller's verified identity."""

    def dependency(request: Request) -> Identity:
        return verify_identity_token(key_getter(), bearer(request), issuer)

    return dependency


def require_roles(identity: Identity, roles: Iterable[str]) -> None:
    if not identity.has_any(roles):
        raise Problem(403, "Forbidden", "Your role does not allow this action.", code="ROLE_FORBIDDEN")
