"""Time values at the edges: ISO 8601 only."""

import re
from datetime import datetime
from typing import Any

_ISO_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def iso_date_time(value: Any) -> Any:
    """Only ISO 8601 date-times: pydantic alone would read `0.5` as seconds since 1970."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE_TIME.match(value):
        raise ValueError("must be an ISO 8601 date-time with offset, e.g. 2026-01-31T12:00:00Z")
    return value
