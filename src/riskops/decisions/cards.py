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


def with_check_digit(partial: str) -> str:
    """Append the digit that makes `partial` pass the Luhn check (for synthetic test cards)."""
    for digit in "0123456789":
        if luhn_valid(partial + digit):
            return partial + digit
    raise AssertionError("some check digit always completes a Luhn number")


def tokenise(number: str, secret: bytes) -> CardReference:
    """The same card always yields the same token under one secret; the token reveals nothing."""
    token = hmac.new(secret, number.encode(), hashlib.sha256).hexdigest()
    return CardReference(token=token, bin=number[:6], last4=number[-4:])
