"""Identifiers: ULIDs sort by creation time, so they double as a stable tiebreak order."""

from ulid import ULID


def new_id() -> str:
    return str(ULID())
