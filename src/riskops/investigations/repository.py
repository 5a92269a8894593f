"""Queries of stored investigations."""

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.db.base import table_of
from riskops.investigations.models import Investigation

investigations = table_of(Investigation)


async def insert_investigation(connection: AsyncConnection, row: dict[str, Any]) -> None:
    await connection.execute(insert(investigations).values(row))


async def get(connection: AsyncConnection, investigation_id: str) -> dict[str, Any] | None:
    row = (
        await connection.execute(
            select(investigations).where(investigations.c.id == investigation_id)
        )
    ).first()
    return dict(row._mapping) if row else None


async def listed(
    connection: AsyncConnection, transaction_id: str | None, case_id: str | None, limit: int
) -> list[dict[str, Any]]:
    query = select(investigations).order_by(
        investigations.c.created_at.desc(), investigations.c.id.desc()
    )
    if transaction_id is not None:
        query = query.where(investigations.c.transaction_id == transaction_id)
    if case_id is not None:
        query = query.where(investigations.c.case_id == case_id)
    return [dict(r._mapping) for r in await connection.execute(query.limit(limit))]
