"""Queries of the recommendation queue."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.db.base import table_of
from riskops.recommendations.models import Recommendation
from riskops.recommendations.schemas import RecommendationStatus

recommendations = table_of(Recommendation)


@dataclass(frozen=True, slots=True)
class QueueFilter:
    status: str | None = None
    pattern: str | None = None
    entity_kind: str | None = None
    min_priority: float | None = None


async def insert_open(connection: AsyncConnection, row: dict[str, Any]) -> bool:
    """Insert an open entry; False if one is open for the same entity and pattern already."""
    dialect_insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = (
        dialect_insert(recommendations)
        .values(row)
        .on_conflict_do_nothing(index_elements=["open_key"])
        .returning(recommendations.c.id)
    )
    return (await connection.execute(statement)).scalar() is not None


async def refresh_open(connection: AsyncConnection, open_key: str, values: dict[str, Any]) -> None:
    """A later scan found the open entry again: newer evidence and priority, one more scan."""
    await connection.execute(
        update(recommendations)
        .where(recommendations.c.open_key == open_key)
        .values(**values, scans=recommendations.c.scans + 1)
    )


async def history(
    connection: AsyncConnection, keys: list[tuple[str, str, str]]
) -> dict[tuple[str, str, str], tuple[int, datetime | None]]:
    """Per (kind, id, pattern): how many entries were rejected, and when the last one was
    acted on (ack or reject)."""
    if not keys:
        return {}
    found: dict[tuple[str, str, str], tuple[int, datetime | None]] = {}
    for start in range(0, len(keys), 200):
        chunk = keys[start : start + 200]
        rows = await connection.execute(
            select(
                recommendations.c.entity_kind,
                recommendations.c.entity_id,
                recommendations.c.pattern,
                func.sum(
                    case(
                        (recommendations.c.status == RecommendationStatus.REJECTED.value, 1),
                        else_=0,
                    )
                ),
                func.max(recommendations.c.acted_at),
            )
            .where(
                recommendations.c.open_key.is_(None),
                or_(
                    *(
                        and_(
                            recommendations.c.entity_kind == kind,
                            recommendations.c.entity_id == entity,
                            recommendations.c.pattern == pattern,
                        )
                        for kind, entity, pattern in chunk
                    )
                ),
            )
            .group_by(
                recommendations.c.entity_kind,
                recommendations.c.entity_id,
                recommendations.c.pattern,
            )
        )
        for kind, entity, pattern, rejected, acted_at in rows.all():
            found[(kind, entity, pattern)] = (int(rejected or 0), acted_at)
    return found


async def get(connection: AsyncConnection, recommendation_id: str) -> dict[str, Any] | None:
    row = (
        await connection.execute(
            select(recommendations).where(recommendations.c.id == recommendation_id)
        )
    ).first()
    return dict(row._mapping) if row else None


async def get_for_update(
    connection: AsyncConnection, recommendation_id: str
) -> dict[str, Any] | None:
    query = select(recommendations).where(recommendations.c.id == recommendation_id)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await connection.execute(query)).first()
    return dict(row._mapping) if row else None


async def close(
    connection: AsyncConnection, recommendation_id: str, values: dict[str, Any]
) -> bool:
    """Act on an open entry; False if it was not open any more (someone acted first)."""
    result = await connection.execute(
        update(recommendations)
        .where(
            recommendations.c.id == recommendation_id,
            recommendations.c.status == RecommendationStatus.OPEN.value,
        )
        .values(**values, open_key=None)
    )
    return bool(result.rowcount)


async def listed(
    connection: AsyncConnection,
    where: QueueFilter,
    limit: int,
    after: tuple[float, str] | None,
) -> list[dict[str, Any]]:
    """Highest priority first, then id: a keyset page after (priority, id)."""
    query = select(recommendations)
    if where.status is not None:
        query = query.where(recommendations.c.status == where.status)
    if where.pattern is not None:
        query = query.where(recommendations.c.pattern == where.pattern)
    if where.entity_kind is not None:
        query = query.where(recommendations.c.entity_kind == where.entity_kind)
    if where.min_priority is not None:
        query = query.where(recommendations.c.priority >= where.min_priority)
    if after is not None:
        priority, last_id = after
        query = query.where(
            or_(
                recommendations.c.priority < priority,
                and_(recommendations.c.priority == priority, recommendations.c.id > last_id),
            )
        )
    query = query.order_by(recommendations.c.priority.desc(), recommendations.c.id).limit(limit)
    return [dict(r._mapping) for r in await connection.execute(query)]


async def patterns(connection: AsyncConnection) -> list[str]:
    """Every pattern the queue holds (what a filter can choose from)."""
    query = select(recommendations.c.pattern).distinct().order_by(recommendations.c.pattern)
    return [str(p) for p in (await connection.execute(query)).scalars()]
