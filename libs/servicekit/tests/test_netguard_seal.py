"""Webhook URLs never reach our own network; a sealed secret opens only with the key."""

from __future__ import annotations

import pytest

from wiser_servicekit.netguard import UrlRefused, address_refusal, check_url
from wiser_servicekit.seal import SealBroken, Sealer


@pytest.mark.parametrize(
    ("address", "code"),
    [
        ("10.1.2.3", "PRIVATE_ADDRESS"),
        ("172.16.0.1", "PRIVATE_ADDRESS"),
        ("192.168.1.1", "PRIVATE_ADDRESS"),
        ("100.64.0.1", "PRIVATE_ADDRESS"),
        ("127.0.0.1", "LOOPBACK_ADDRESS"),
        ("::1", "LOOPBACK_ADDRESS"),
        ("169.254.10.10", "LINK_LOCAL_ADDRESS"),
        ("fe80::1", "LINK_LOCAL_ADDRESS"),
        ("169.254.169.254", "METADATA_ADDRESS"),
        ("100.100.100.200", "METADATA_ADDRESS"),
        ("::ffff:10.0.0.1", "PRIVATE_ADDRESS"),
        ("0.0.0.0", "PRIVATE_ADDRESS"),
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_address_ranges(address: str, code: str | None) -> None:
    assert address_refusal(address) == code


async def test_names_are_resolved_and_checked_and_the_allow_list_is_exact() -> None:
    with pytest.raises(UrlRefused) as e:
        await check_url("http://localhost:8080/hook")
    assert e.value.code == "LOOPBACK_ADDRESS"
    assert (await check_url("http://127.0.0.1:8080/hook", ["127.0.0.1:8080"])).port == 8080
    with pytest.raises(UrlRefused):
        await check_url("http://127.0.0.1:8081/hook", ["127.0.0.1:8080"])
    with pytest.raises(UrlRefused) as e:
        await check_url("http://user:pw@example.org/")
    assert e.value.code == "BAD_URL"
    target = await check_url("https://no-such-name.invalid/hook", unresolvable_ok=True)
    assert target.addresses == ()
    with pytest.raises(UrlRefused):
        await check_url("https://no-such-name.invalid/hook")


def test_a_sealed_secret_opens_only_with_the_key() -> None:
    from cryptography.fernet import Fernet

    a, b = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = Sealer(a).seal("whsec_1")
    assert "whsec_1" not in sealed
    assert Sealer(f"{b},{a}").open(sealed) == "whsec_1"  # rotation: an older key still opens
    with pytest.raises(SealBroken):
        Sealer(b).open(sealed)
