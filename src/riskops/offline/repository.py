"""Reading the facts to export, a keyset page at a time in (created_at, id) order."""

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.cases.models import Case, CaseTransaction, Disposition
from riskops.db.base import table_of
from riskops.decisions.models import Decision, Transaction
from riskops.labels.models import Label

transactions = table_of(Transaction)
decisions = table_of(Decision)
labels = table_of(Label)
cases = table_of(Case)
case_transactions = table_of(CaseTransaction)
dispositions = table_of(Disposition)

Position = tuple[datetime, str]  # (created_at, id) of the last row exported


def _decisions() -> Select[Any]:
    t, d = transactions.c, decisions.c
    return select(
        t.id.label("transaction_id"),
        t.occurred_at,
        t.created_at,
        t.account_id,
        t.card_token,
        t.card_bin,
        t.amount_minor,
        t.currency,
        t.merchant_id,
        t.merchant_category,
        t.merchant_country,
        t.channel,
        t.device_id,
        t.user_id,
        d.status,
        d.basis,
        d.score,
        d.score_source,
        d.reason_codes,
        d.ruleset_version,
        d.model_name,
        d.model_version,
        d.features,
    ).join(decisions, d.transaction_id == t.id)


def _labels() -> Select[Any]:
    c = labels.c
    return select(
        c.id, c.transaction_id, c.label, c.source, c.labelled_at, c.created_at.label("created_at")
    )


def _cases() -> Select[Any]:
    """One row per closing of a case (a disposition, which never changes), with the case.

    Cases change while they are worked, so the fact is the closing, not the case: a reopened
    case closed again is a second row, and no row is ever rewritten. The case's own columns
    are read at export time (a settled closing's case rarely changes again).
    """
    d, c = dispositions.c, cases.c
    payments = (
        select(func.count())
        .where(case_transactions.c.case_id == c.id)
        .correlate(cases)
        .scalar_subquery()
    )
    return select(
        d.id.label("disposition_id"),
        d.case_id,
        d.created_at,
        d.disposition,
        d.actor,
        d.labels,
        c.opened_at,
        c.sla_due_at,
        c.source,
        c.priority,
        c.score,
        c.amount_minor,
        c.currency,
        c.country,
        c.channel,
        c.card_token,
        c.transaction_id,
        c.reason_codes,
        payments.label("payments"),
    ).join(cases, c.id == d.case_id)


QUERIES = {
    "decisions": (_decisions, transactions),
    "labels": (_labels, labels),
    "cases": (_cases, dispositions),
}


async def page(
    connection: AsyncConnection,
    table: str,
    after: Position | None,
    start: datetime,
    end: datetime,
    limit: int,
) -> list[dict[str, Any]]:
    """Rows of `table` created in [start, end) after `after`, oldest first."""
    build, source = QUERIES[table]
    query = build().where(_window(source, after, start, end))
    query = query.order_by(source.c.created_at, source.c.id).limit(limit)
    return [dict(row._mapping) for row in await connection.execute(query)]


async def count(
    connection: AsyncConnection, table: str, after: Position | None, start: datetime, end: datetime
) -> int:
    """How many rows `page` would return in all, from `after` on."""
    source = QUERIES[table][1]
    query = select(func.count()).select_from(source).where(_window(source, after, start, end))
    return int((await connection.execute(query)).scalar_one())


def _window(
    source: Table, after: Position | None, start: datetime, end: datetime
) -> ColumnElement[bool]:
    created, key = source.c.created_at, source.c.id
    window = and_(created >= start, created < end)
    if after is None:
        return window
    return and_(window, or_(created > after[0], and_(created == after[0], key > after[1])))
