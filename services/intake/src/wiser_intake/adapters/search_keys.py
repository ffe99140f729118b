"""How packets are found without PHI stored readable: keyed blind indexes of the beneficiary's names
(words and their prefixes) and MBI, under the PHI index key from settings (wiser_servicekit.crypto)."""

from __future__ import annotations

from typing import Any

from wiser_servicekit.crypto import cipher

from .tables import packets


def search_keys(beneficiary: Any, practitioner_npi: str) -> dict[str, Any]:
    """The search columns of a packet whose beneficiary is `beneficiary` (first_name, last_name, mbi)."""
    c = cipher()
    return {
        "name_index": c.name_index(beneficiary.first_name, beneficiary.last_name),
        "mbi_index": c.blind_index(beneficiary.mbi),
        "practitioner_npi": practitioner_npi,
    }


def matches_term(term: str) -> list[Any]:
    """Conditions (any of them) under which a packet matches a search term: every word of it starts a word
    of the beneficiary's name, or it is the MBI, the tracking number or the UTN."""
    c = cipher()
    conditions: list[Any] = [
        packets.c.mbi_index == c.blind_index(term),
        packets.c.tracking_number == term.upper(),
        packets.c.utn == term.upper(),
    ]
    words = c.name_query(term)
    if words:
        conditions.insert(0, packets.c.name_index.contains(words))
    return conditions
