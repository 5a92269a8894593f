"""Card numbers at the edge: Luhn-checked, then replaced by an HMAC token, BIN and last four."""

import hashlib
import hmac
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CardReference:
    token: str
    bin: str
    last4: str


def luhn_valid(number: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = ord(char) - 48
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def tokenise(number: str, secret: bytes) -> CardReference:
    """The same card always yields the same token under one secret; the token reveals nothing."""
    token = hmac.new(secret, number.encode(), hashlib.sha256).hexdigest()
    return CardReference(token=token, bin=number[:6], last4=number[-4:])
