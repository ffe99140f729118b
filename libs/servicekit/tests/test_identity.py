"""Identity tokens: who may sign what, and commands that carry a person's bound token."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from wiser_servicekit import identity as idt
from wiser_servicekit.identity import (
    GATEWAY,
    CommandTokenRefused,
    Identity,
    IdentityVerifier,
    generate_keypair,
    issue_command_token,
    issue_identity_token,
    issue_service_token,
)
from wiser_servicekit.problems import Problem

GATEWAY_KEY, GATEWAY_PUBLIC = generate_keypair()
VALIDATION_KEY, VALIDATION_PUBLIC = generate_keypair()
STRANGER_KEY, _ = generate_keypair()
VERIFIER = IdentityVerifier.from_setting(f"wiser-gateway={GATEWAY_PUBLIC},wiser-validation={VALIDATION_PUBLIC}")
PID = uuid.uuid4()
WITHDRAW = "intake.withdraw_packet"


def refused(token: str) -> Problem:
    with pytest.raises(Problem) as e:
        VERIFIER.verify(token)
    assert e.value.status == 401
    return e.value


def test_the_gateways_token_for_a_person_is_accepted_with_known_roles_only() -> None:
    token = issue_identity_token(GATEWAY_KEY, "u1", ["supervisor", "not-a-role"])
    assert VERIFIER.verify(token) == Identity("u1", frozenset({"supervisor"}))


def test_a_service_token_asserts_the_service_role() -> None:
    who = VERIFIER.verify(issue_service_token(VALIDATION_KEY, "wiser-validation"))
    assert (who.user_id, who.roles, who.issuer) == ("svc:validation", frozenset({"service"}), "wiser-validation")


def test_a_service_cannot_speak_for_a_person() -> None:
    forged = issue_identity_token(VALIDATION_KEY, "u1", ["supervisor"], issuer="wiser-validation")
    assert refused(forged).code == "TOKEN_INVALID"
    both = issue_identity_token(VALIDATION_KEY, "svc:validation", ["service", "admin"], issuer="wiser-validation")
    refused(both)
    other_subject = issue_identity_token(VALIDATION_KEY, "svc:intake", ["service"], issuer="wiser-validation")
    refused(other_subject)


def test_a_service_cannot_sign_as_the_gateway_nor_the_gateway_as_a_service() -> None:
    refused(issue_identity_token(VALIDATION_KEY, "u1", ["supervisor"]))  # says wiser-gateway, signed by validation
    refused(issue_identity_token(GATEWAY_KEY, "u1", ["service"]))
    refused(issue_service_token(GATEWAY_KEY, "wiser-validation"))


def test_unknown_keys_issuers_expired_and_other_algorithms_are_refused() -> None:
    refused(issue_identity_token(STRANGER_KEY, "u1", ["supervisor"]))
    refused(issue_service_token(STRANGER_KEY, "wiser-letters"))
    assert refused(issue_identity_token(GATEWAY_KEY, "u1", ["supervisor"], ttl=-30)).code == "TOKEN_EXPIRED"
    import jwt

    now = int(time.time())
    hs = jwt.encode(
        {"sub": "u1", "roles": ["admin"], "iat": now, "exp": now + 60, "iss": GATEWAY, "aud": idt.AUDIENCE},
        GATEWAY_PUBLIC,
        algorithm="HS256",
    )
    refused(hs)
    refused("not.a.token")


def test_a_command_token_is_not_a_bearer_token() -> None:
    refused(issue_command_token(GATEWAY_KEY, "u1", ["supervisor"], PID, WITHDRAW))


def test_several_keys_of_one_issuer_are_accepted_for_rotation() -> None:
    new_key, new_public = generate_keypair()
    verifier = IdentityVerifier.from_setting(f"wiser-gateway={GATEWAY_PUBLIC},wiser-gateway={new_public}")
    assert verifier.verify(issue_identity_token(new_key, "u", ["admin"])).user_id == "u"
    assert verifier.verify(issue_identity_token(GATEWAY_KEY, "u", ["admin"])).user_id == "u"


def test_keys_load_from_base64_or_pem_and_malformed_ones_are_refused() -> None:
    from cryptography.hazmat.primitives import serialization

    key = idt.load_private_key(GATEWAY_KEY)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    assert idt.encode_private_key(idt.load_private_key(pem)) == GATEWAY_KEY
    padded_standard = idt.encode_public_key(key.public_key()).replace("-", "+").replace("_", "/") + "="
    assert idt.encode_public_key(idt.load_public_key(padded_standard)) == GATEWAY_PUBLIC
    for bad in ("", "replace-me", "c2hvcnQ", "!!!"):
        with pytest.raises(ValueError):
            idt.load_private_key(bad)
    with pytest.raises(ValueError):
        idt.parse_public_keys(f"gateway={GATEWAY_PUBLIC}")
    with pytest.raises(ValueError):
        idt.parse_public_keys("wiser-gateway=replace-me")


def test_keygen_prints_a_usable_pair(capsys: pytest.CaptureFixture[str]) -> None:
    assert idt.main(["keygen", "intake"]) == 0
    out = capsys.readouterr().out
    private = out.splitlines()[0].split("=", 1)[1]
    public = out.split("wiser-intake=")[1].strip()
    assert idt.public_key_of(private) == public


def command(
    token: str | None, *, at: datetime | None = None, now: float | None = None, pid: uuid.UUID = PID
) -> Identity:
    return VERIFIER.command(
        token, packet_id=pid, action=WITHDRAW, issued_at=at or datetime.now(UTC), max_age=24 * 3600, now=now
    )


def test_a_bound_command_token_names_the_person() -> None:
    token = issue_command_token(GATEWAY_KEY, "sup-1", ["supervisor"], PID, WITHDRAW)
    assert command(token) == Identity("sup-1", frozenset({"supervisor"}))


def test_a_command_token_still_works_for_a_retry_after_it_expired_within_the_maximum_age() -> None:
    issued = datetime.now(UTC) - timedelta(hours=2)
    token = issue_command_token(GATEWAY_KEY, "sup-1", ["supervisor"], PID, WITHDRAW, ttl=60, now=issued.timestamp())
    assert command(token, at=issued + timedelta(seconds=5)).user_id == "sup-1"


@pytest.mark.parametrize(
    "case",
    ["missing", "another packet", "another action", "signed by a service", "a bearer token", "before", "after", "old"],
)
def test_a_command_token_that_does_not_authorize_this_command_is_refused(case: str) -> None:
    at = datetime.now(UTC)
    token: str | None = issue_command_token(GATEWAY_KEY, "sup-1", ["supervisor"], PID, WITHDRAW)
    if case == "missing":
        token = None
    elif case == "another packet":
        token = issue_command_token(GATEWAY_KEY, "sup-1", ["supervisor"], uuid.uuid4(), WITHDRAW)
    elif case == "another action":
        token = issue_command_token(GATEWAY_KEY, "sup-1", ["supervisor"], PID, "intake.revalidate_packet")
    elif case == "signed by a service":
        token = issue_command_token(VALIDATION_KEY, "sup-1", ["supervisor"], PID, WITHDRAW, issuer="wiser-validation")
    elif case == "a bearer token":
        token = issue_identity_token(GATEWAY_KEY, "sup-1", ["supervisor"])
    elif case == "before":
        at -= timedelta(minutes=10)  # the command says it was issued before the person asked
    elif case == "after":
        at += timedelta(minutes=10)  # ... or long after the token had expired
    elif case == "old":
        then = (datetime.now(UTC) - timedelta(hours=25)).timestamp()
        token = issue_command_token(GATEWAY_KEY, "sup-1", ["supervisor"], PID, WITHDRAW, now=then)
        at = datetime.fromtimestamp(then + 1, UTC)
    with pytest.raises(CommandTokenRefused):
        command(token, at=at)
