"""Stats from the hourly aggregates: totals, approval rate, average amount, p95 latency."""

import bisect
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.analytics import repository
from riskops.core.outcome import Outcome

# Upper bounds (ms) of the latency histogram's buckets; the last one is open-ended.
LATENCY_BOUNDS_MS = (
    0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 50.0, 75.0,
    100.0, 150.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, float("inf"),
)  # fmt: skip


def latency_bucket(latency_ms: float) -> int:
    return bisect.bisect_left(LATENCY_BOUNDS_MS, latency_ms)


def quantile(histogram: dict[int, int], q: float) -> float | None:
    """The q-quantile, interpolated linearly inside its bucket (as Prometheus does)."""
    total = sum(histogram.values())
    if not total:
        return None
    rank = q * total
    seen = 0
    for bucket in sorted(histogram):
        count = histogram[bucket]
        if count and seen + count >= rank:
            lower = LATENCY_BOUNDS_MS[bucket - 1] if bucket > 0 else 0.0
            upper = LATENCY_BOUNDS_MS[bucket]
            if upper == float("inf"):
                return lower
            return round(lower + (upper - lower) * (rank - seen) / count, 3)
        seen += count
    return None


async def stats(connection: AsyncConnection, since: datetime | None = None) -> dict[str, Any]:
    """The stats document of `GET /v1/stats` (and of the console's dashboard)."""
    found, _ = await _stats(connection, since)
    return found


async def dashboard_stats(connection: AsyncConnection) -> dict[str, Any]:
    """The same stats plus the median latency, from the same histogram (the console shows both)."""
    found, histogram = await _stats(connection, None)
    return found | {"p50_latency_ms": quantile(histogram, 0.5)}


async def _stats(
    connection: AsyncConnection, since: datetime | None
) -> tuple[dict[str, Any], dict[int, int]]:
    by_status = {status: (count, amount) for status, count, amount in
                 await repository.totals_by_status(connection, since)}  # fmt: skip
    total = sum(count for count, _ in by_status.values())
    amount = sum(amount for _, amount in by_status.values())
    approved = by_status.get(Outcome.APPROVE, (0, 0))[0]
    histogram = await repository.latency_histogram(connection, since)
    found = {
        "total": total,
        "approved": approved,
        "review": by_status.get(Outcome.REVIEW, (0, 0))[0],
        "declined": by_status.get(Outcome.DECLINE, (0, 0))[0],
        "approval_rate": round(approved / total, 4) if total else None,
        "avg_amount": round(amount / total, 2) if total else None,
        "p95_latency_ms": quantile(histogram, 0.95),
    }
    return found, histogram
