"""Which copies a letter set makes, where each goes, and how each channel confirms (DOMAIN.md "Letters")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The packet's intake channel -> how the requester's copy goes back (PARTNER_API.md "Authentication").
REQUESTER_CHANNEL = {"api": "webhook", "esmd": "esmd", "fax": "fax", "mail": "mail", "portal": "email"}
DECISION_CODE = {"affirmed": "A", "non_affirmed": "N", "partially_affirmed": "P", "dismissed": "N"}


class NoDestination(Exception):
    """The packet names nowhere to send this copy (no fax number, no address)."""


@dataclass(frozen=True)
class CopyPlan:
    recipient: str  # requester, beneficiary
    channel: str
    letter_id: str
    destination: dict[str, Any]


def _postal(person: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    address = person.get("address") or {}
    if not address.get("line1") or not address.get("zip"):
        raise NoDestination("no postal address")
    return {
        "name": name or f"{person.get('first_name', '')} {person.get('last_name', '')}".strip(),
        "line1": address["line1"],
        "line2": address.get("line2"),
        "city": address.get("city", ""),
        "state": address.get("state", ""),
        "zip": address["zip"],
    }


def destination(channel: str, recipient: str, packet: dict[str, Any]) -> dict[str, Any]:
    """Where a copy goes, from intake's packet (contacts are PHI: stored encrypted, never logged)."""
    requester, practitioner = packet.get("requester") or {}, packet.get("practitioner") or {}
    if recipient == "beneficiary":
        return _postal(packet.get("beneficiary") or {})
    if channel == "fax":
        number = requester.get("fax") or practitioner.get("fax")
        if not number:
            raise NoDestination("no fax number")
        return {"fax": number}
    if channel == "mail":
        return _postal(practitioner)
    if channel == "email":
        email = requester.get("email") or practitioner.get("email")
        if not email:
            raise NoDestination("no email address")
        return {"email": email}
    if channel == "esmd":
        return {"esmd_transaction": packet.get("external_ref") or packet["packet_id"]}
    return {"client_id": packet.get("partner_client_id")}  # webhook: the partner's letter.available subscriptions


def copies_for(packet: dict[str, Any], letter_set: dict[str, Any]) -> list[CopyPlan]:
    """The requester's copy on the packet's channel and the beneficiary's by mail, from an approved set."""
    channel = REQUESTER_CHANNEL.get(packet["channel"], "mail")
    out = []
    for letter in letter_set.get("letters") or []:
        recipient = letter["recipient"]
        how = channel if recipient == "requester" else "mail"
        out.append(CopyPlan(recipient, how, str(letter["letter_id"]), destination(how, recipient, packet)))
    return out


def correct(dest: dict[str, Any], channel: str, fax: str | None, address: dict[str, Any] | None) -> dict[str, Any]:
    """A destination with an ops correction applied (T18 "retry now" with a corrected fax number or address)."""
    if channel == "fax" and fax:
        return {"fax": fax}
    if channel == "mail" and address:
        return {**dest, **{k: v for k, v in address.items() if v}}
    return dest
