"""Reads over the payments of one entity: recent history, window totals, links, cases."""

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, case, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.cases.models import Case, CaseTransaction
from riskops.cases.repository import OPEN_STATUSES
from riskops.core.outcome import Outcome
from riskops.db.base import table_of
from riskops.decisions.models import Decision, Transaction
from riskops.labels.models import Label

transactions = table_of(Transaction)
decisions = table_of(Decision)
cases = table_of(Case)
case_transactions = table_of(CaseTransaction)
labels = table_of(Label)
WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


class EntityKind(StrEnum):
    CARD = "card"  # by token: a full card number is never stored nor shown
    ACCOUNT = "account"
    DEVICE = "device"
    MERCHANT = "merchant"
    IP = "ip"


COLUMN: dict[EntityKind, Column[Any]] = {
    EntityKind.CARD: transactions.c.card_token,
    EntityKind.ACCOUNT: transactions.c.account_id,
    EntityKind.DEVICE: transactions.c.device_id,
    EntityKind.MERCHANT: transactions.c.merchant_id,
    EntityKind.IP: transactions.c.ip,
}
# Which other entities are worth linking from each: cards sharing a device, devices sharing
# a card, and so on.
LINKS: dict[EntityKind, tuple[EntityKind, ...]] = {
    EntityKind.CARD: (EntityKind.DEVICE, EntityKind.ACCOUNT, EntityKind.IP),
    EntityKind.ACCOUNT: (EntityKind.CARD, EntityKind.DEVICE),
    EntityKind.DEVICE: (EntityKind.CARD, EntityKind.ACCOUNT),
    EntityKind.MERCHANT: (),
    EntityKind.IP: (EntityKind.CARD, EntityKind.DEVICE),
}
LINK_LIMIT = 20


async def recent(
    connection: AsyncConnection,
    kind: EntityKind,
    value: str,
    limit: int,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """The entity's payments newest first, each with its decision and the case holding it;
    `since`/`until` bound their time (both inclusive), so the limit counts only those."""
    column = COLUMN[kind]
    fraud = (
        select(func.max(labels.c.label))
        .where(labels.c.transaction_id == transactions.c.id)
        .scalar_subquery()
    )
    query = (
        select(
            transactions.c.id,
            transactions.c.occurred_at,
            transactions.c.amount_minor,
            transactions.c.currency,
            transactions.c.merchant_id,
            transactions.c.merchant_country,
            transactions.c.channel,
            transactions.c.card_last4,
            transactions.c.card_token,
            transactions.c.device_id,
            transactions.c.account_id,
            decisions.c.status,
            decisions.c.score,
            case_transactions.c.case_id,
            cases.c.status.label("case_status"),
            fraud.label("label"),
        )
        .select_from(
            transactions.join(decisions, decisions.c.transaction_id == transactions.c.id)
            .outerjoin(case_transactions, case_transactions.c.transaction_id == transactions.c.id)
            .outerjoin(cases, cases.c.id == case_transactions.c.case_id)
        )
        .where(column == value)
        .order_by(transactions.c.occurred_at.desc(), transactions.c.id.desc())
        .limit(limit)
    )
    if since is not None:
        query = query.where(transactions.c.occurred_at >= since)
    if until is not None:
        query = query.where(transactions.c.occurred_at <= until)
    return [dict(r._mapping) for r in await connection.execute(query)]


def _window_columns(now: datetime) -> list[Any]:
    """Count and amount per window, each bounded above too: an investigation of an older
    payment sees its windows as they were then, not swollen by the payments after it."""
    columns: list[Any] = []
    for span in WINDOWS.values():
        inside = transactions.c.occurred_at.between(now - span, now)
        columns.append(func.sum(case((inside, 1), else_=0)))
        columns.append(func.sum(case((inside, transactions.c.amount_minor), else_=0)))
    return columns


def _windows(row: Any, first: int) -> dict[str, dict[str, int]]:
    return {
        name: {
            "count": int(row[first + 2 * i] or 0),
            "amount_minor": int(row[first + 1 + 2 * i] or 0),
        }
        for i, name in enumerate(WINDOWS)
    }


async def _linked(
    connection: AsyncConnection, kind: EntityKind, value: str
) -> dict[str, list[str]]:
    column = COLUMN[kind]
    linked: dict[str, list[str]] = {}
    for other in LINKS[kind]:
        found = await connection.execute(
            select(COLUMN[other])
            .distinct()
            .where(column == value, COLUMN[other].is_not(None))
            .limit(LINK_LIMIT)
        )
        linked[other.value] = sorted(str(v) for v in found.scalars())
    return linked


async def activity(
    connection: AsyncConnection, kind: EntityKind, value: str, now: datetime
) -> dict[str, Any]:
    """Counts and amounts per window up to `now`, and the linked entities: the part of the
    summary investigations read (no outcomes, labels or cases: three fewer queries)."""
    row = (
        await connection.execute(select(*_window_columns(now)).where(COLUMN[kind] == value))
    ).one()
    return {"windows": _windows(row, 0), "linked": await _linked(connection, kind, value)}


async def summary(
    connection: AsyncConnection, kind: EntityKind, value: str, now: datetime
) -> dict[str, Any] | None:
    """First/last seen, counts and amounts per window, outcomes, labels, links, open cases."""
    column = COLUMN[kind]
    columns: list[Any] = [
        func.min(transactions.c.occurred_at),
        func.max(transactions.c.occurred_at),
        *_window_columns(now),
        func.count(),
        *(func.sum(case((decisions.c.status == s, 1), else_=0)) for s in Outcome),
    ]
    row = (
        await connection.execute(
            select(*columns)
            .select_from(
                transactions.join(decisions, decisions.c.transaction_id == transactions.c.id)
            )
            .where(column == value)
        )
    ).one()
    total = int(row[8] or 0)
    if total == 0:
        return None
    label_rows = (
        await connection.execute(
            select(labels.c.label, func.count(distinct(labels.c.transaction_id)))
            .select_from(labels.join(transactions, transactions.c.id == labels.c.transaction_id))
            .where(column == value)
            .group_by(labels.c.label)
        )
    ).all()
    counts = {int(label): int(n) for label, n in label_rows}
    open_cases = (
        await connection.execute(
            select(cases.c.id, cases.c.status, cases.c.priority)
            .distinct()
            .select_from(
                cases.join(case_transactions, case_transactions.c.case_id == cases.c.id).join(
                    transactions, transactions.c.id == case_transactions.c.transaction_id
                )
            )
            .where(column == value, cases.c.status.in_(OPEN_STATUSES))
            .limit(LINK_LIMIT)
        )
    ).all()
    return {
        "kind": kind.value,
        "id": value,
        "first_seen": row[0],
        "last_seen": row[1],
        "windows": _windows(row, 2),
        "transactions": total,
        "outcomes": {
            "approve": int(row[9] or 0),
            "review": int(row[10] or 0),
            "decline": int(row[11] or 0),
        },
        "labels": {"fraud": counts.get(1, 0), "legitimate": counts.get(0, 0)},
        "linked": await _linked(connection, kind, value),
        "open_cases": [{"id": c[0], "status": c[1], "priority": c[2]} for c in open_cases],
    }
