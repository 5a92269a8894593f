"""Identifiers: ULIDs sort by creation time, so they double as a stable tiebreak order.

Built here rather than with `str(ulid.ULID())`: the library builds a ULID object, then a
bytes value, then encodes it char by char (3.2 us a call, measured; a decision makes four or
five). One integer of 48 bits of milliseconds and 80 random bits, encoded ten bits at a time
through a 1,024-entry table, gives the same Crockford base32 text in a third of that
(tests/core/test_ids.py holds it to the library's encoding).
"""

import os
import time
from typing import Final

_CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Every two-character pair: 26 characters are 13 lookups of 10 bits (the top 2 bits are 0).
_PAIRS: Final = tuple(a + b for a in _CROCKFORD for b in _CROCKFORD)
_MASK: Final = 0x3FF


def encode_ulid(value: int) -> str:
    """The 26-character Crockford base32 text of a 128-bit ULID value."""
    p = _PAIRS
    return (
        p[value >> 120]
        + p[(value >> 110) & _MASK]
        + p[(value >> 100) & _MASK]
        + p[(value >> 90) & _MASK]
        + p[(value >> 80) & _MASK]
        + p[(value >> 70) & _MASK]
        + p[(value >> 60) & _MASK]
        + p[(value >> 50) & _MASK]
        + p[(value >> 40) & _MASK]
        + p[(value >> 30) & _MASK]
        + p[(value >> 20) & _MASK]
        + p[(value >> 10) & _MASK]
        + p[value & _MASK]
    )


def new_id() -> str:
    """A new ULID: milliseconds since the epoch, then 80 bits from the OS's random source."""
    milliseconds = time.time_ns() // 1_000_000
    return encode_ulid(milliseconds << 80 | int.from_bytes(os.urandom(10)))


# Crockford base32, 26 characters: what `new_id` returns, as event contracts state it.
ULID_PATTERN = "^[0-9A-HJKMNP-TV-Z]{26}$"
