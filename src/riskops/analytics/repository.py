"""Upserts into and reads from the hourly decision aggregates."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.analytics.models import DecisionStatsHourly
from riskops.db.base import table_of

stats_hourly = table_of(DecisionStatsHourly)
BucketKey = tuple[datetime, str, str, str, int]  # hour, status, channel, country, latency bucket


async def add(connection: AsyncConnection, totals: dict[BucketKey, list[float]]) -> None:
    """Add [count, amount_minor_sum, latency_ms_sum] to each bucket row (created if new)."""
    if not totals:
        return
    rows = [
        {
            "hour": hour,
            "status": status,
            "channel": channel,
            "country": country,
            "latency_bucket": bucket,
            "count": int(count),
            "amount_minor_sum": int(amount),
            "latency_ms_sum": latency,
        }
        for (hour, status, channel, country, bucket), (count, amount, latency) in sorted(
            totals.items()
        )
    ]
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = insert(stats_hourly).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=["hour", "status", "channel", "country", "latency_bucket"],
        set_={
            "count": stats_hourly.c.count + statement.excluded.count,
            "amount_minor_sum": stats_hourly.c.amount_minor_sum
            + statement.excluded.amount_minor_sum,
            "latency_ms_sum": stats_hourly.c.latency_ms_sum + statement.excluded.latency_ms_sum,
        },
    )
    await connection.execute(statement)


async def totals_by_status(
    connection: AsyncConnection, since: datetime | None = None
) -> Iterable[tuple[str, int, int]]:
    query: Any = select(
        stats_hourly.c.status,
        func.sum(stats_hourly.c.count),
        func.sum(stats_hourly.c.amount_minor_sum),
    ).group_by(stats_hourly.c.status)
    if since is not None:
        query = query.where(stats_hourly.c.hour >= since)
    return [(s, int(c or 0), int(a or 0)) for s, c, a in await connection.execute(query)]


async def latency_histogram(
    connection: AsyncConnection, since: datetime | None = None
) -> dict[int, int]:
    query: Any = select(stats_hourly.c.latency_bucket, func.sum(stats_hourly.c.count)).group_by(
        stats_hourly.c.latency_bucket
    )
    if since is not None:
        query = query.where(stats_hourly.c.hour >= since)
    return {int(b): int(c or 0) for b, c in await connection.execute(query)}
