"""Identity tokens (EdDSA, Ed25519): who is calling, signed by the one who may say so.

- The gateway (issuer `wiser-gateway`) alone signs people's tokens, with the key
  only it holds.
- Each service signs its own calls with its own key (issuer `wiser-<service>`,
  subject `svc:<service>`) and may assert only the `service` role.
- A command made on behalf of a person carries a *command token*: the person's
  token from the gateway, bound to one packet and one action (`cmd` claim,
  audience `wiser-commands`), checked against the time the command was issued.

Verifiers hold public keys per issuer (`issuer=<base64>,issuer=<base64>`;
several keys of one issuer are all accepted, for rotation). Keys are the
base64 (URL-safe or standard, padding optional) of the raw 32 bytes, or PEM.
`python -m wiser_servicekit.identity keygen` prints a new key pair.
"""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi import Request

from wiser_contracts import roles

from .problems import Problem

AUDIENCE = "wiser-services"
COMMAND_AUDIENCE = "wiser-commands"
GATEWAY = "wiser-gateway"
SERVICE_ROLE = roles.SERVICE
ON_BEHALF_HEADER = "X-Wiser-On-Behalf-Of"
ALGORITHM = "EdDSA"
LEEWAY = 5  # seconds of clock difference between hosts
ROLES = roles.ALL
SERVICES = ("gateway", "intake", "validation", "clinical", "letters", "outbound", "analytics")

# Well-known demo keys (WISER_ENV=dev and test only; settings refuse them anywhere else).
DEMO_PRIVATE_KEYS = {
    "wiser-gateway": "uy8uj6032R2bRtqD-q92zlV9dkzX92uX9AOzSieNuuA",
    "wiser-intake": "n1wNHQs6_0NUgyD07uGg4JfrEK1lydUgE-OUbbBI6jI",
    "wiser-validation": "8i0R4VvyaZ7SjK7vib2I58UqT-RcuztCG7rysT3yKE0",
    "wiser-clinical": "ugVrVkyo1eIyq_jJ_yxROSaYhmSUmzXTDUGbM0oNPVY",
    "wiser-letters": "LmrMrM8ODRlt5McbujBnSmmC0MBK7WmWZCICgJJfst4",
    "wiser-outbound": "IC2789iobqCIaHwopMAkhzwRlamsxUjQ02XT2kKMiLc",
    "wiser-analytics": "eBxtSjgRfSnQKzFN_banalOq7zjAWtdjCjaNwiL8lSg",
}


def issuer_for(service: str) -> str:
    return f"wiser-{service}"


def service_subject(issuer: str) -> str:
    return "svc:" + issuer.removeprefix("wiser-")


# ------------------------------------------------------------------------------------------- keys


def _raw(text: str) -> bytes:
    cleaned = "".join(text.split())
    padded = cleaned + "=" * (-len(cleaned) % 4)
    try:
        return base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))
    except (binascii.Error, ValueError) as e:
        raise ValueError("not base64") from e


def load_private_key(text: str) -> Ed25519PrivateKey:
    """An Ed25519 private key from base64 of its raw 32 bytes, or PEM (PKCS#8); ValueError if malformed."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("not an Ed25519 private key")
        return key
    raw = _raw(text)
    if len(raw) != 32:
        raise ValueError("an Ed25519 private key is 32 bytes")
    return Ed25519PrivateKey.from_private_bytes(raw)


def load_public_key(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key from base64 of its raw 32 bytes, or PEM; ValueError if malformed."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return key
    raw = _raw(text)
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def encode_public_key(key: Ed25519PublicKey) -> str:
    return _b64(public_bytes(key))


def encode_private_key(key: Ed25519PrivateKey) -> str:
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    return _b64(raw)


def generate_keypair() -> tuple[str, str]:
    """A new (private, public) key pair, each as URL-safe base64 of the raw 32 bytes."""
    key = Ed25519PrivateKey.generate()
    return encode_private_key(key), encode_public_key(key.public_key())


def public_key_of(private_key: str) -> str:
    return encode_public_key(load_private_key(private_key).public_key())


PublicKeys = Mapping[str, Sequence[Ed25519PublicKey]]


def parse_public_keys(text: str) -> dict[str, tuple[Ed25519PublicKey, ...]]:
    """`issuer=<key>,issuer=<key>` (an issuer may repeat: all its keys are accepted); ValueError if malformed."""
    keys: dict[str, list[Ed25519PublicKey]] = {}
    for entry in text.split(","):
        if not entry.strip():
            continue
        issuer, sep, value = entry.partition("=")
        issuer = issuer.strip()
        if not sep or not issuer.startswith("wiser-"):
            raise ValueError("entries are issuer=<base64 key>, the issuer named wiser-<service>")
        keys.setdefault(issuer, []).append(load_public_key(value))
    return {issuer: tuple(found) for issuer, found in keys.items()}


def format_public_keys(keys: Mapping[str, str]) -> str:
    return ",".join(f"{issuer}={key}" for issuer, key in keys.items())


DEMO_PUBLIC_KEYS = {issuer: public_key_of(key) for issuer, key in DEMO_PRIVATE_KEYS.items()}
DEMO_PUBLIC_KEYS_SETTING = format_public_keys(DEMO_PUBLIC_KEYS)
_DEMO_PUBLIC_RAW = frozenset(_raw(k) for k in DEMO_PUBLIC_KEYS.values())


def is_demo_key(key: Ed25519PublicKey | Ed25519PrivateKey) -> bool:
    """Whether this is (the public half of) one of the well-known demo keys."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public_bytes(public) in _DEMO_PUBLIC_RAW


# ----------------------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class Identity:
    user_id: str
    roles: frozenset[str]
    issuer: str = field(default=GATEWAY, compare=False)

    def has_any(self, roles: Iterable[str]) -> bool:
        return bool(self.roles & set(roles))


def _private(key: Ed25519PrivateKey | str) -> Ed25519PrivateKey:
    return key if isinstance(key, Ed25519PrivateKey) else load_private_key(key)


def issue_identity_token(
    key: Ed25519PrivateKey | str,
    user_id: str,
    roles: Iterable[str],
    ttl: int = 120,
    issuer: str = GATEWAY,
    *,
    audience: str = AUDIENCE,
    extra: Mapping[str, Any] | None = None,
    now: float | None = None,
) -> str:
    """A signed token saying `user_id` holds `roles` (for `ttl` seconds)."""
    t = int(time.time() if now is None else now)
    claims = {
        "sub": user_id,
        "roles": sorted(roles),
        "iat": t,
        "exp": t + ttl,
        "iss": issuer,
        "aud": audience,
        "jti": uuid.uuid4().hex,
        **(extra or {}),
    }
    return jwt.encode(claims, _private(key), algorithm=ALGORITHM)


def issue_service_token(key: Ed25519PrivateKey | str, issuer: str, ttl: int = 60) -> str:
    """A service's token for its own calls: subject `svc:<service>`, the `service` role only."""
    return issue_identity_token(key, service_subject(issuer), [SERVICE_ROLE], ttl=ttl, issuer=issuer)


def issue_command_token(
    key: Ed25519PrivateKey | str,
    user_id: str,
    roles: Iterable[str],
    packet_id: uuid.UUID | str,
    action: str,
    ttl: int = 120,
    *,
    issuer: str = GATEWAY,
    now: float | None = None,
) -> str:
    """A person's token bound to one action on one packet (the `on_behalf_of` of a command)."""
    bound = {"cmd": {"packet_id": str(packet_id), "action": action}}
    return issue_identity_token(
        key, user_id, roles, ttl=ttl, issuer=issuer, audience=COMMAND_AUDIENCE, extra=bound, now=now
    )


class TokenRefused(Exception):
    """A token that proves nothing: bad signature, unknown issuer, a role its issuer may not grant, ..."""

    def __init__(self, reason: str, *, expired: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.expired = expired


class CommandTokenRefused(TokenRefused):
    """A command's `on_behalf_of` that does not authorize it (the command must change nothing)."""


class IdentityVerifier:
    """Checks tokens against the public keys of their issuers."""

    def __init__(self, public_keys: PublicKeys) -> None:
        self.public_keys = {issuer: tuple(keys) for issuer, keys in public_keys.items()}

    @classmethod
    def from_setting(cls, text: str) -> IdentityVerifier:
        return cls(parse_public_keys(text))

    def _decode(self, token: str, audience: str, issuers: Iterable[str] | None, verify_exp: bool) -> dict[str, Any]:
        try:
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError as e:
            raise TokenRefused("not a token") from e
        allowed = self.public_keys if issuers is None else {i: self.public_keys.get(i, ()) for i in issuers}
        if not isinstance(issuer, str) or not allowed.get(issuer):
            raise TokenRefused("unknown issuer")
        for key in allowed[issuer]:
            try:
                return jwt.decode(
                    token,
                    key,
                    algorithms=[ALGORITHM],
                    audience=audience,
                    issuer=issuer,
                    leeway=LEEWAY,
                    options={"require": ["exp", "iat", "sub", "iss", "aud"], "verify_exp": verify_exp},
                )
            except jwt.InvalidSignatureError:
                continue
            except jwt.ExpiredSignatureError as e:
                raise TokenRefused("expired", expired=True) from e
            except jwt.PyJWTError as e:
                raise TokenRefused("invalid claims") from e
        raise TokenRefused("bad signature")

    @staticmethod
    def _identity(claims: Mapping[str, Any]) -> Identity:
        """Who the token names, if its issuer may say so."""
        issuer, subject, roles = claims["iss"], str(claims["sub"]), claims.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise TokenRefused("roles must be a list of names")
        if issuer == GATEWAY:
            if SERVICE_ROLE in roles or subject.startswith("svc:"):
                raise TokenRefused("the gateway speaks for people, not services")
        else:
            if subject != service_subject(issuer):
                raise TokenRefused("a service's token names that service")
            if set(roles) - {SERVICE_ROLE}:
                raise TokenRefused("a service may assert only the service role")
        return Identity(subject, frozenset(r for r in roles if r in ROLES), issuer)

    def identity(self, token: str) -> Identity:
        """The identity a bearer token proves now; TokenRefused otherwise."""
        return self._identity(self._decode(token, AUDIENCE, None, verify_exp=True))

    def verify(self, token: str) -> Identity:
        """The identity a bearer token proves now; a 401 problem otherwise."""
        try:
            return self.identity(token)
        except TokenRefused as e:
            if e.expired:
                raise Problem(
                    401, "Identity token expired", code="TOKEN_EXPIRED", headers={"WWW-Authenticate": "Bearer"}
                ) from e
            raise Problem(
                401, "Invalid identity token", code="TOKEN_INVALID", headers={"WWW-Authenticate": "Bearer"}
            ) from e

    def command(
        self,
        token: str | None,
        *,
        packet_id: uuid.UUID | str | None,
        action: str,
        issued_at: datetime,
        max_age: float,
        now: float | None = None,
        skew: float = 60,
    ) -> Identity:
        """The person a command was issued for, from its gateway-signed, bound token; CommandTokenRefused otherwise.

        The token must have been valid when the command was issued (`iat <= issued_at <= exp`, give or take
        `skew`) and be at most `max_age` seconds old now: its `exp` is not compared with now, so a command
        retried or replayed later still carries its authority, for a while.
        """
        if not token:
            raise CommandTokenRefused("no on_behalf_of token")
        try:
            claims = self._decode(token, COMMAND_AUDIENCE, (GATEWAY,), verify_exp=False)
            person = self._identity(claims)
        except CommandTokenRefused:
            raise
        except TokenRefused as e:
            raise CommandTokenRefused(e.reason) from e
        bound = claims.get("cmd")
        if not isinstance(bound, dict) or bound.get("packet_id") != str(packet_id) or bound.get("action") != action:
            raise CommandTokenRefused("bound to another packet or action")
        iat, exp, at = claims["iat"], claims["exp"], issued_at.timestamp()
        if not (isinstance(iat, int | float) and isinstance(exp, int | float)):
            raise CommandTokenRefused("invalid claims")
        if not iat - skew <= at <= exp + skew:
            raise CommandTokenRefused("not valid when the command was issued")
        current = time.time() if now is None else now
        if current - iat > max_age:
            raise CommandTokenRefused("older than the maximum age")
        if iat > current + skew:
            raise CommandTokenRefused("issued in the future")
        return person


def bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value:
        raise Problem(401, "Authentication required", code="UNAUTHENTICATED", headers={"WWW-Authenticate": "Bearer"})
    return value.strip()


def identity_dependency(verifier_getter: Callable[[], IdentityVerifier]) -> Callable[[Request], Identity]:
    """FastAPI dependency: the caller's verified identity."""

    def dependency(request: Request) -> Identity:
        return verifier_getter().verify(bearer(request))

    return dependency


def require_roles(identity: Identity, roles: Iterable[str]) -> None:
    if not identity.has_any(roles):
        raise Problem(403, "Forbidden", "Your role does not allow this action.", code="ROLE_FORBIDDEN")


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m wiser_servicekit.identity keygen [service]`: a new key pair for a service's settings."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m wiser_servicekit.identity")
    sub = parser.add_subparsers(dest="command", required=True)
    keygen = sub.add_parser("keygen", help="print a new Ed25519 key pair (base64 of the raw 32 bytes)")
    keygen.add_argument("service", nargs="?", default="gateway", choices=SERVICES)
    args = parser.parse_args(argv)
    private, public = generate_keypair()
    print(f"WISER_{args.service.upper()}_IDENTITY_PRIVATE_KEY={private}")
    print(f"# add to WISER_IDENTITY_PUBLIC_KEYS of every service: {issuer_for(args.service)}={public}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
