"""Keyset page cursors: the (time, id) of the last row a page showed, opaque to callers."""

import base64
from datetime import datetime

import orjson

from riskops.core.errors import BadRequest


def encode_cursor(at: datetime, row_id: str) -> str:
    raw = orjson.dumps([at.isoformat(), row_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (time, id) in a cursor this API issued; 400 for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, row_id = orjson.loads(raw)
        decoded = datetime.fromisoformat(at)
        if decoded.tzinfo is None or not isinstance(row_id, str) or "\x00" in row_id:
            raise ValueError("not a cursor")
        return decoded, row_id
    except (ValueError, TypeError) as error:
        raise BadRequest("the cursor is not one this API issued", {"field": "cursor"}) from error
