"""Queries of the models package: records (predictions and decisions), shadow scores, drift,
and the logged feature vectors that training sets are built from."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.core.cursor import decode_cursor, encode_cursor
from riskops.db.base import table_of
from riskops.decisions.models import Decision, Transaction
from riskops.labels.models import Label
from riskops.ml.models import DriftReport, PredictionRecord, ShadowScore

records = table_of(PredictionRecord)
shadows = table_of(ShadowScore)
drift_reports = table_of(DriftReport)
decisions = table_of(Decision)
transactions = table_of(Transaction)
labels = table_of(Label)


@dataclass(frozen=True, slots=True)
class RecordFilter:
    model: str | None = None
    label: str | None = None
    min_score: float | None = None
    max_score: float | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


def _records_union(where: RecordFilter) -> Any:
    """Prediction records and decisions as one relation: every decision is a record too."""
    predicted = select(
        records.c.id,
        literal("prediction").label("kind"),
        records.c.model_name,
        records.c.model_version,
        records.c.score,
        records.c.label,
        records.c.created_at,
    )
    decided = select(
        decisions.c.transaction_id.label("id"),
        literal("decision").label("kind"),
        decisions.c.model_name,
        decisions.c.model_version,
        decisions.c.score,
        decisions.c.status.label("label"),
        decisions.c.created_at,
    )
    both = union_all(predicted, decided).subquery("records")
    query = select(both)
    if where.model is not None:
        query = query.where(both.c.model_name == where.model)
    if where.label is not None:
        query = query.where(both.c.label == where.label)
    if where.min_score is not None:
        query = query.where(both.c.score >= where.min_score)
    if where.max_score is not None:
        query = query.where(both.c.score <= where.max_score)
    if where.created_from is not None:
        query = query.where(both.c.created_at >= where.created_from)
    if where.created_to is not None:
        query = query.where(both.c.created_at < where.created_to)
    return query, both


async def list_records_page(
    connection: AsyncConnection, where: RecordFilter, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first; one keyset page after `cursor` (ties broken by id: no skips, no repeats)."""
    query, both = _records_union(where)
    if cursor is not None:
        at, last_id = decode_cursor(cursor)
        query = query.where(
            or_(both.c.created_at < at, and_(both.c.created_at == at, both.c.id < last_id))
        )
    rows = (
        await connection.execute(
            query.order_by(both.c.created_at.desc(), both.c.id.desc()).limit(limit + 1)
        )
    ).all()
    items = [dict(row._mapping) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_cursor(items[-1]["created_at"], items[-1]["id"])
    return items, next_cursor


async def list_records(
    connection: AsyncConnection, where: RecordFilter, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One offset page and the total (the console's numbered pages)."""
    query, both = _records_union(where)
    total = (
        await connection.execute(select(func.count()).select_from(query.subquery()))
    ).scalar_one()
    page = await connection.execute(
        query.order_by(both.c.created_at.desc(), both.c.id.desc()).limit(limit).offset(offset)
    )
    return [dict(row._mapping) for row in page], int(total)


async def get_prediction(connection: AsyncConnection, record_id: str) -> dict[str, Any] | None:
    row = (await connection.execute(select(records).where(records.c.id == record_id))).first()
    return dict(row._mapping) if row else None


async def get_decision_record(connection: AsyncConnection, record_id: str) -> dict[str, Any] | None:
    row = (
        await connection.execute(select(decisions).where(decisions.c.transaction_id == record_id))
    ).first()
    return dict(row._mapping) if row else None


async def insert_prediction(connection: AsyncConnection, row: dict[str, Any]) -> None:
    await connection.execute(insert(records), [row])


async def insert_shadow_scores(connection: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await connection.execute(insert(shadows), list(rows))


async def insert_drift_report(connection: AsyncConnection, row: dict[str, Any]) -> None:
    await connection.execute(insert(drift_reports), [row])


async def list_drift_reports(
    connection: AsyncConnection, model_name: str, limit: int
) -> list[dict[str, Any]]:
    result = await connection.execute(
        select(drift_reports)
        .where(drift_reports.c.model_name == model_name)
        .order_by(drift_reports.c.created_at.desc(), drift_reports.c.id.desc())
        .limit(limit)
    )
    return [dict(row._mapping) for row in result]


async def logged_features(
    connection: AsyncConnection, start: datetime, end: datetime, model_name: str | None = None
) -> list[dict[str, Any]]:
    """Feature vectors and scores the pipeline logged for decisions made in [start, end)."""
    query = select(decisions.c.features, decisions.c.score, decisions.c.model_version).where(
        decisions.c.created_at >= start, decisions.c.created_at < end
    )
    if model_name is not None:
        query = query.where(decisions.c.model_name == model_name)
    return [dict(row._mapping) for row in await connection.execute(query)]


async def training_rows(
    connection: AsyncConnection, start: datetime, end: datetime, cutoff: datetime
) -> list[dict[str, Any]]:
    """Logged vectors of payments that happened in [start, end), with the fraud labels known
    at `cutoff`: a label stored later does not exist for this dataset (point-in-time)."""
    known_fraud = (
        select(labels.c.transaction_id, func.max(labels.c.label).label("label"))
        .where(labels.c.labelled_at <= cutoff)
        .group_by(labels.c.transaction_id)
        .subquery("known")
    )
    query = (
        select(
            transactions.c.id,
            transactions.c.occurred_at,
            transactions.c.card_token,
            decisions.c.features,
            func.coalesce(known_fraud.c.label, 0).label("label"),
        )
        .join(decisions, decisions.c.transaction_id == transactions.c.id)
        .join(known_fraud, known_fraud.c.transaction_id == transactions.c.id, isouter=True)
        .where(and_(transactions.c.occurred_at >= start, transactions.c.occurred_at < end))
        .order_by(transactions.c.occurred_at, transactions.c.id)
    )
    return [dict(row._mapping) for row in await connection.execute(query)]


async def canary_counts(
    connection: AsyncConnection, model_name: str, version: str
) -> tuple[int, int]:
    """(decisions the version scored, challenger failures recorded for it)."""
    scored = (
        await connection.execute(
            select(func.count()).where(
                decisions.c.model_name == model_name, decisions.c.model_version == version
            )
        )
    ).scalar_one()
    errors = (
        await connection.execute(
            select(func.count()).where(
                shadows.c.model_name == model_name,
                shadows.c.model_version == version,
                shadows.c.error.is_not(None),
            )
        )
    ).scalar_one()
    return int(scored), int(errors)
