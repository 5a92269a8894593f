"""Identifiers: ULIDs sort by creation time, so they double as a stable tiebreak order."""

from ulid import ULID


def new_id() -> str:
    return str(ULID())


# Crockford base32, 26 characters: what `new_id` returns, as event contracts state it.
ULID_PATTERN = "^[0-9A-HJKMNP-TV-Z]{26}$"
