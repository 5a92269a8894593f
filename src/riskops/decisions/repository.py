"""Read queries over transactions, decisions and audits (Core, no ORM objects)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Select, and_, case, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.auth.models import ApiKey
from riskops.core.cursor import decode_cursor, encode_cursor
from riskops.core.outcome import Outcome
from riskops.db.base import table_of
from riskops.decisions.models import Decision, DecisionAudit, Transaction
from riskops.decisions.views import audit_view, canonical, transaction_view

transactions = table_of(Transaction)
decisions = table_of(Decision)
audits = table_of(DecisionAudit)
api_keys = table_of(ApiKey)


@dataclass(frozen=True, slots=True)
class TransactionFilter:
    account_id: str | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    status: str | None = None
    min_score: float | None = None
    max_score: float | None = None
    card_token: str | None = None
    merchant_id: str | None = None
    device_id: str | None = None


def _joined() -> Select[Any]:
    return select(transactions, *[c for c in decisions.c if c.name != "transaction_id"]).join(
        decisions, decisions.c.transaction_id == transactions.c.id
    )


def _split(row: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    data = row._mapping
    txn = {c.name: data[c.name] for c in transactions.c}
    dec = {c.name: data[c.name] for c in decisions.c if c.name != "transaction_id"}
    return txn, dec


async def get_transaction(
    connection: AsyncConnection, transaction_id: str
) -> dict[str, Any] | None:
    row = (await connection.execute(_joined().where(transactions.c.id == transaction_id))).first()
    if row is None:
        return None
    return transaction_view(*_split(row))


async def get_transaction_detail(
    connection: AsyncConnection, transaction_id: str
) -> dict[str, Any] | None:
    row = (await connection.execute(_joined().where(transactions.c.id == transaction_id))).first()
    if row is None:
        return None
    txn, dec = _split(row)
    audit = await get_audit(connection, transaction_id)
    return {**transaction_view(txn, dec), "features": canonical(dec["features"]), "audit": audit}


async def get_audit(connection: AsyncConnection, transaction_id: str) -> dict[str, Any] | None:
    row = (
        await connection.execute(select(audits).where(audits.c.transaction_id == transaction_id))
    ).first()
    return audit_view(dict(row._mapping)) if row is not None else None


async def key_name(connection: AsyncConnection, key_id: str) -> str | None:
    """The name given to an API key at creation (who submitted a payment)."""
    found = await connection.scalar(select(api_keys.c.name).where(api_keys.c.id == key_id))
    return str(found) if found is not None else None


async def list_transactions(
    connection: AsyncConnection, where: TransactionFilter, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first by event time; ties broken by id, so pages never skip or repeat a row."""
    query = _joined()
    conditions = []
    if where.account_id is not None:
        conditions.append(transactions.c.account_id == where.account_id)
    if where.occurred_from is not None:
        conditions.append(transactions.c.occurred_at >= where.occurred_from)
    if where.occurred_to is not None:
        conditions.append(transactions.c.occurred_at < where.occurred_to)
    if where.status is not None:
        conditions.append(decisions.c.status == where.status)
    if where.min_score is not None:
        conditions.append(decisions.c.score >= where.min_score)
    if where.max_score is not None:
        conditions.append(decisions.c.score <= where.max_score)
    for column, value in (
        (transactions.c.card_token, where.card_token),
        (transactions.c.merchant_id, where.merchant_id),
        (transactions.c.device_id, where.device_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if cursor is not None:
        at, last_id = decode_cursor(cursor)
        conditions.append(
            or_(
                transactions.c.occurred_at < at,
                and_(transactions.c.occurred_at == at, transactions.c.id < last_id),
            )
        )
    query = (
        query.where(*conditions)
        .order_by(transactions.c.occurred_at.desc(), transactions.c.id.desc())
        .limit(limit + 1)
    )
    rows = (await connection.execute(query)).all()
    items = [transaction_view(*_split(row)) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_cursor(last["occurred_at"], last["id"])
    return items, next_cursor


def status_counts() -> tuple[Any, ...]:
    """Columns: decisions in all, then approved, review and declined ones."""
    return (
        func.count(),
        *(func.sum(case((decisions.c.status == status.value, 1), else_=0)) for status in Outcome),
    )


async def account_counts(connection: AsyncConnection, account_id: str) -> dict[str, int]:
    """The account's decisions in all and by outcome."""
    counts = (
        await connection.execute(
            select(*status_counts())
            .select_from(
                transactions.join(decisions, decisions.c.transaction_id == transactions.c.id)
            )
            .where(transactions.c.account_id == account_id)
        )
    ).one()
    return {
        "transactions": int(counts[0] or 0),
        "approved": int(counts[1] or 0),
        "review": int(counts[2] or 0),
        "declined": int(counts[3] or 0),
    }


async def stats(connection: AsyncConnection) -> dict[str, Any]:
    counts = (
        await connection.execute(
            select(
                *status_counts(),
                func.avg(transactions.c.amount_minor),
            ).select_from(
                decisions.join(transactions, transactions.c.id == decisions.c.transaction_id)
            )
        )
    ).one()
    total, approved, review, declined, avg_amount = tuple(counts)
    total = int(total or 0)
    p95 = None
    if total:
        p95 = await connection.scalar(
            select(decisions.c.latency_ms)
            .order_by(decisions.c.latency_ms)
            .offset(min(total - 1, int(total * 0.95)))
            .limit(1)
        )
    return {
        "total": total,
        "approved": int(approved or 0),
        "review": int(review or 0),
        "declined": int(declined or 0),
        "approval_rate": round(int(approved or 0) / total, 4) if total else None,
        "avg_amount": round(float(avg_amount), 2) if avg_amount is not None else None,
        "p95_latency_ms": float(p95) if p95 is not None else None,
    }


def _epoch_bucket(connection: AsyncConnection, bucket_seconds: int) -> Any:
    # SQLite keeps naive UTC text; PostgreSQL a timestamptz: both become whole epoch buckets.
    if connection.dialect.name == "sqlite":
        seconds = cast(func.strftime("%s", transactions.c.occurred_at), Integer)
        return func.floor(seconds / bucket_seconds)
    return func.floor(func.extract("epoch", transactions.c.occurred_at) / bucket_seconds)


async def timeline(
    connection: AsyncConnection, since: datetime, bucket_seconds: int
) -> list[dict[str, Any]]:
    """Decisions grouped into event-time buckets since `since`: counts by outcome, means."""
    bucket = _epoch_bucket(connection, bucket_seconds).label("bucket")
    query = (
        select(
            bucket,
            *status_counts(),
            func.avg(transactions.c.amount_minor),
            func.avg(decisions.c.latency_ms),
            func.max(decisions.c.latency_ms),
        )
        .select_from(decisions.join(transactions, transactions.c.id == decisions.c.transaction_id))
        .where(transactions.c.occurred_at >= since)
        .group_by(bucket)
        .order_by(bucket)
    )
    return [
        {
            "start": int(row[0]) * bucket_seconds,
            "total": int(row[1]),
            "approved": int(row[2] or 0),
            "review": int(row[3] or 0),
            "declined": int(row[4] or 0),
            "avg_amount": float(row[5] or 0),
            "avg_latency_ms": float(row[6] or 0),
            "max_latency_ms": float(row[7] or 0),
        }
        for row in (await connection.execute(query)).all()
    ]
