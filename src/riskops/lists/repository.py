"""Queries over lists and entries; the caller owns the transaction."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.lists.models import ListEntry, ListsVersion, ValueList

_lists = cast(Table, ValueList.__table__)
_entries = cast(Table, ListEntry.__table__)
_version = cast(Table, ListsVersion.__table__)


async def get_list(connection: AsyncConnection, name: str) -> dict[str, Any] | None:
    row = (await connection.execute(select(_lists).where(_lists.c.name == name))).first()
    return dict(row._mapping) if row else None


async def all_lists(connection: AsyncConnection, now: datetime) -> list[dict[str, Any]]:
    live = (_entries.c.expires_at.is_(None)) | (_entries.c.expires_at > now)
    counts = (
        select(_entries.c.list_name, func.count().label("entries"))
        .where(live)
        .group_by(_entries.c.list_name)
        .subquery()
    )
    query = (
        select(_lists, func.coalesce(counts.c.entries, 0).label("entries"))
        .outerjoin(counts, counts.c.list_name == _lists.c.name)
        .order_by(_lists.c.name)
    )
    return [dict(row._mapping) for row in await connection.execute(query)]


async def insert_list(connection: AsyncConnection, row: dict[str, Any]) -> None:
    await connection.execute(insert(_lists).values(row))


async def entries(
    connection: AsyncConnection, name: str, after: str | None, limit: int
) -> list[dict[str, Any]]:
    query = select(_entries).where(_entries.c.list_name == name)
    if after is not None:
        query = query.where(_entries.c.value > after)
    rows = await connection.execute(query.order_by(_entries.c.value).limit(limit))
    return [dict(row._mapping) for row in rows]


async def existing_values(
    connection: AsyncConnection, name: str, values: Sequence[str]
) -> dict[str, dict[str, Any]]:
    query = select(_entries).where(_entries.c.list_name == name, _entries.c.value.in_(values))
    return {row.value: dict(row._mapping) for row in await connection.execute(query)}


async def insert_entries(connection: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await connection.execute(insert(_entries), rows)


async def update_entry(connection: AsyncConnection, entry_id: str, values: dict[str, Any]) -> None:
    await connection.execute(update(_entries).where(_entries.c.id == entry_id).values(values))


async def delete_entry(connection: AsyncConnection, entry_id: str) -> None:
    await connection.execute(delete(_entries).where(_entries.c.id == entry_id))


async def bump_version(connection: AsyncConnection) -> None:
    await connection.execute(update(_version).values(version=_version.c.version + 1))


async def version(connection: AsyncConnection) -> int:
    return int((await connection.execute(select(_version.c.version))).scalar_one())


async def live_entries(
    connection: AsyncConnection, now: datetime
) -> tuple[list[tuple[str, str]], list[tuple[str, str]], datetime | None]:
    """(name, kind) of every list, (list name, value) of every unexpired entry, and the
    earliest future expiry (when the snapshot must be rebuilt even without a change)."""
    lists = [(r.name, r.kind) for r in await connection.execute(select(_lists))]
    live = (_entries.c.expires_at.is_(None)) | (_entries.c.expires_at > now)
    rows = await connection.execute(select(_entries.c.list_name, _entries.c.value).where(live))
    next_expiry = (
        await connection.execute(
            select(func.min(_entries.c.expires_at)).where(_entries.c.expires_at > now)
        )
    ).scalar_one()
    return lists, [(r.list_name, r.value) for r in rows], next_expiry
