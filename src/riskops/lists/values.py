"""One entry value per kind, in the spelling it is stored and matched in.

A card is given as its number and kept only as its HMAC token (the same token payments
carry), so a list can block a card without the database ever holding a card number.
"""

import ipaddress
import re
from typing import Final

from riskops.decisions.cards import luhn_valid, tokenise
from riskops.rules.lists import ListKind

_DIGITS: Final = re.compile(r"\d{12,19}")
_TOKEN: Final = re.compile(r"[0-9a-f]{64}")
_BIN: Final = re.compile(r"\d{6,8}")
_COUNTRY: Final = re.compile(r"[A-Z]{2}")
_EMAIL: Final = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PLAIN: Final = re.compile(r"[^\x00-\x1f\x7f]{1,255}")


def stored_value(kind: ListKind, raw: str, secret: bytes, *, token_ok: bool = False) -> str:
    """The stored form of `raw`; ValueError says why it is refused (never echoing a card).

    `token_ok` lets a card be named by its token too (removing an entry someone sees in a
    listing, where only tokens are shown).
    """
    value = raw.strip()
    if kind is ListKind.CARD:
        digits = value.replace(" ", "").replace("-", "")
        if _DIGITS.fullmatch(digits) and luhn_valid(digits):
            return tokenise(digits, secret).token
        if token_ok and _TOKEN.fullmatch(value):
            return value
        raise ValueError("not a valid card number (12-19 digits passing the Luhn check)")
    if kind is ListKind.IP:
        try:
            return str(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or CIDR network: {value[:64]!r}") from None
    if kind is ListKind.BIN:
        if not _BIN.fullmatch(value):
            raise ValueError(f"a BIN is 6 to 8 digits, got {value[:64]!r}")
        return value
    if kind is ListKind.COUNTRY:
        if not _COUNTRY.fullmatch(value.upper()):
            raise ValueError(f"a country is an ISO 3166 alpha-2 code, got {value[:64]!r}")
        return value.upper()
    if kind is ListKind.EMAIL:
        if not _EMAIL.fullmatch(value) or len(value) > 255:
            raise ValueError(f"not an email address: {value[:64]!r}")
        return value.lower()
    if not _PLAIN.fullmatch(value):
        raise ValueError("must be 1 to 255 printable characters")
    return value
