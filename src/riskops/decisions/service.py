"""Reads of decisions for every caller (JSON API and console): errors raised, no HTTP."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.analytics import service as analytics
from riskops.core.errors import BadRequest, NotFound
from riskops.decisions import repository
from riskops.decisions.repository import TransactionFilter

__all__ = ["WINDOWS", "TransactionFilter", "Window"]


@dataclass(frozen=True, slots=True)
class Window:
    """A chart window: how far back, and how wide each bucket is."""

    name: str
    span: timedelta
    bucket_seconds: int


WINDOWS = {
    "1h": Window("1h", timedelta(hours=1), 60),
    "24h": Window("24h", timedelta(hours=24), 3600),
}


async def list_transactions(
    connection: AsyncConnection,
    where: TransactionFilter,
    limit: int,
    cursor: str | None,
    page_size_max: int,
) -> tuple[list[dict[str, Any]], str | None]:
    for name, value in (("from", where.occurred_from), ("to", where.occurred_to)):
        if value is not None and value.tzinfo is None:
            raise BadRequest(f"`{name}` needs a timezone offset", {"field": name})
    if (
        where.min_score is not None
        and where.max_score is not None
        and where.min_score > where.max_score
    ):
        raise BadRequest("`min_score` must not exceed `max_score`", {"field": "min_score"})
    return await repository.list_transactions(connection, where, min(limit, page_size_max), cursor)


async def transaction_detail(connection: AsyncConnection, transaction_id: str) -> dict[str, Any]:
    detail = await repository.get_transaction_detail(connection, transaction_id)
    if detail is None:
        raise NotFound(
            f"transaction {transaction_id} does not exist", {"transaction_id": transaction_id}
        )
    return detail


async def submitter_name(connection: AsyncConnection, detail: dict[str, Any]) -> str | None:
    """The name of the API key that submitted a transaction (its audit keeps the key's id)."""
    key_id = ((detail.get("audit") or {}).get("inputs_snapshot") or {}).get("submitted_by")
    return await repository.key_name(connection, key_id) if key_id else None


async def audit(connection: AsyncConnection, transaction_id: str) -> dict[str, Any]:
    found = await repository.get_audit(connection, transaction_id)
    if found is None:
        raise NotFound(
            f"no audit record for transaction {transaction_id}", {"transaction_id": transaction_id}
        )
    return found


async def account_counts(connection: AsyncConnection, account_id: str) -> dict[str, int]:
    """An account's decisions by outcome (the ledger's balance shows them beside the sum)."""
    return await repository.account_counts(connection, account_id)


async def stats(connection: AsyncConnection) -> dict[str, Any]:
    """The API's stats document, from the analytics consumer's hourly aggregates (no scan)."""
    return await analytics.stats(connection)


async def dashboard_stats(connection: AsyncConnection) -> dict[str, Any]:
    """The API's stats plus the median latency: one definition of every figure (no scan)."""
    return await analytics.dashboard_stats(connection)


async def timeline(
    connection: AsyncConnection, window: Window, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Every bucket of the window, oldest first, empty ones included (charts need gaps as 0)."""
    now = now or datetime.now(UTC)
    width = window.bucket_seconds
    last = int(now.timestamp()) // width * width
    first = last - (int(window.span.total_seconds()) // width - 1) * width
    rows = {
        row["start"]: row
        for row in await repository.timeline(connection, datetime.fromtimestamp(first, UTC), width)
    }
    empty = {"total": 0, "approved": 0, "review": 0, "declined": 0}
    return [
        rows.get(
            start,
            {
                "start": start,
                **empty,
                "avg_amount": None,
                "avg_latency_ms": None,
                "max_latency_ms": None,
            },
        )
        for start in range(first, last + 1, width)
    ]
