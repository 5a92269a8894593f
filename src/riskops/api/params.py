"""Query parameter types shared by routers: ISO 8601 times and keyset cursors."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import AfterValidator, BeforeValidator

from riskops.core.times import iso_date_time


def _with_offset(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("needs a timezone offset, e.g. 2026-01-31T12:00:00Z")
    return value


def _empty_is_absent(value: Any) -> Any:
    return value or None


IsoDateTime = Annotated[datetime, BeforeValidator(iso_date_time), AfterValidator(_with_offset)]
Cursor = Annotated[
    str | None,
    BeforeValidator(_empty_is_absent),
    Query(description="`next_cursor` of the previous page; absent or empty: the first page"),
]
