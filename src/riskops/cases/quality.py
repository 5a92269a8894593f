"""Figures a fraud supervisor watches: workload, ageing, outcomes and what labels say about
the decisions (recall by outcome)."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.auth.models import ApiKey
from riskops.cases.models import Case, Disposition
from riskops.cases.repository import OPEN_STATUSES
from riskops.core.outcome import Outcome
from riskops.db.base import table_of
from riskops.decisions.models import Decision, Transaction
from riskops.labels.models import Label

cases = table_of(Case)
dispositions = table_of(Disposition)
decisions = table_of(Decision)
transactions = table_of(Transaction)
labels = table_of(Label)
api_keys = table_of(ApiKey)
# Ageing buckets of the open queue, by time since a case opened.
AGES = (("under_1h", timedelta(hours=1)), ("1h_4h", timedelta(hours=4)),
        ("4h_24h", timedelta(hours=24)))  # fmt: skip


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def figures(connection: AsyncConnection, now: datetime, window: timedelta) -> dict[str, Any]:
    since = now - window
    open_rows = (
        await connection.execute(
            select(cases.c.status, cases.c.assignee, cases.c.opened_at, cases.c.sla_due_at).where(
                cases.c.status.in_(OPEN_STATUSES)
            )
        )
    ).all()
    ageing = {name: 0 for name, _ in AGES} | {"over_24h": 0}
    workload: dict[str, int] = {}
    overdue = 0
    for row in open_rows:
        age = now - row.opened_at
        bucket = next((name for name, limit in AGES if age < limit), "over_24h")
        ageing[bucket] += 1
        overdue += now > row.sla_due_at
        workload[row.assignee or "unassigned"] = workload.get(row.assignee or "unassigned", 0) + 1
    closed = (
        await connection.execute(
            select(cases.c.disposition, cases.c.opened_at, cases.c.closed_at, cases.c.source).where(
                cases.c.closed_at >= since, cases.c.closed_at.is_not(None)
            )
        )
    ).all()
    outcomes: dict[str, int] = {}
    hours: list[float] = []
    for row in closed:
        outcomes[row.disposition] = outcomes.get(row.disposition, 0) + 1
        hours.append((row.closed_at - row.opened_at).total_seconds() / 3600)
    reviews = [r for r in closed if r.source == Outcome.REVIEW]
    confirmed = sum(r.disposition == "fraud_confirmed" for r in reviews)
    found = await connection.execute(
        select(api_keys.c.id, api_keys.c.name).where(api_keys.c.id.in_(list(workload)))
    )
    return {
        "window_hours": window.total_seconds() / 3600,
        # Assignees are key ids (or user ids from elsewhere): the names people gave the keys.
        "names": {str(key_id): str(name) for key_id, name in found},
        "queue": {
            "open": sum(r.status == "open" for r in open_rows),
            "assigned": sum(r.status == "assigned" for r in open_rows),
            "overdue": overdue,
        },
        "ageing": ageing,
        "workload": dict(sorted(workload.items(), key=lambda kv: (-kv[1], kv[0]))),
        "outcomes": outcomes,
        "closed": len(closed),
        "hours_to_disposition": {"p50": _percentile(hours, 0.5), "p95": _percentile(hours, 0.95)},
        "review_fraud_share": round(confirmed / len(reviews), 4) if reviews else None,
        "recall_by_outcome": await _recall(connection, since),
    }


async def _recall(connection: AsyncConnection, since: datetime) -> dict[str, Any]:
    """Of the payments labelled fraud (latest label) that happened in the window, how many
    each outcome caught: decline stops them, review holds them, approve lets them through."""
    latest = (
        select(labels.c.transaction_id, func.max(labels.c.labelled_at).label("at"))
        .group_by(labels.c.transaction_id)
        .subquery()
    )
    rows = (
        await connection.execute(
            select(decisions.c.status, func.count())
            .select_from(
                latest.join(
                    labels,
                    (labels.c.transaction_id == latest.c.transaction_id)
                    & (labels.c.labelled_at == latest.c.at),
                )
                .join(transactions, transactions.c.id == labels.c.transaction_id)
                .join(decisions, decisions.c.transaction_id == transactions.c.id)
            )
            .where(labels.c.label == 1, transactions.c.occurred_at >= since)
            .group_by(decisions.c.status)
        )
    ).all()
    counts = {str(status): int(n) for status, n in rows}
    total = sum(counts.values())
    return {
        "fraud_labelled": total,
        **{
            status.value: round(counts.get(status, 0) / total, 4) if total else None
            for status in reversed(Outcome)  # strongest first
        },
    }
