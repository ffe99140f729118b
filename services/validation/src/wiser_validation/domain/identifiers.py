"""Identifier formats (DOMAIN.md, Identifiers)."""

from __future__ import annotations

import re

MBI_PATTERN = re.compile(
    r"^[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9][AC-HJKMNP-RT-Y]{2}[0-9]{2}$"
)
# The NPI check digit is a Luhn digit over the 9 digits prefixed with 80840; that prefix always adds 24.
_NPI_PREFIX_SUM = 24


def mbi_is_well_formed(mbi: str) -> bool:
    """Say whether `mbi` has the MBI pattern: 11 characters, uppercase, no dashes."""
    return MBI_PATTERN.fullmatch(mbi) is not None


def npi_check_digit(first_nine: str) -> int:
    """Compute the NPI check digit for its first 9 digits."""
    total = _NPI_PREFIX_SUM
    for position, char in enumerate(reversed(first_nine)):
        digit = int(char)
        if position % 2 == 0:  # rightmost digit of the payload is doubled
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def npi_is_well_formed(npi: str) -> bool:
    """Say whether `npi` is 10 digits ending in a valid check digit."""
    if len(npi) != 10 or not npi.isascii() or not npi.isdigit():
        return False
    return npi_check_digit(npi[:9]) == int(npi[9])
