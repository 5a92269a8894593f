"""Queries of the administrative audit log."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.audit.models import AdminAuditEntry
from riskops.core.cursor import decode_cursor, encode_cursor
from riskops.db.base import table_of

entries = table_of(AdminAuditEntry)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    target: str | None = None
    at_from: datetime | None = None
    at_to: datetime | None = None


async def insert_entry(connection: AsyncConnection, row: dict[str, Any]) -> None:
    await connection.execute(insert(entries).values(**row))


async def list_entries(
    connection: AsyncConnection, where: AuditFilter, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first; ties broken by id, so pages never skip or repeat a row."""
    conditions = []
    for column, value in (
        (entries.c.actor, where.actor),
        (entries.c.action, where.action),
        (entries.c.target, where.target),
    ):
        if value is not None:
            conditions.append(column == value)
    if where.at_from is not None:
        conditions.append(entries.c.at >= where.at_from)
    if where.at_to is not None:
        conditions.append(entries.c.at <= where.at_to)
    if cursor is not None:
        at, last_id = decode_cursor(cursor)
        conditions.append(or_(entries.c.at < at, and_(entries.c.at == at, entries.c.id < last_id)))
    query = (
        select(entries)
        .where(*conditions)
        .order_by(entries.c.at.desc(), entries.c.id.desc())
        .limit(limit + 1)
    )
    rows = (await connection.execute(query)).mappings().all()
    items = [dict(row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_cursor(items[-1]["at"], items[-1]["id"])
    return items, next_cursor
