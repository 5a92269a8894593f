"""Queries over cases (Core, no ORM objects). Status changes are conditional UPDATEs: the
database decides races (two analysts claiming one case), not a read-then-write."""

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Select, String, and_, cast, insert, or_, select, update
from sqlalchemy import case as when
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.cases.models import Case, CaseNote, CaseTransaction, Disposition
from riskops.cases.schemas import CaseSort, CaseStatus
from riskops.core.errors import BadRequest
from riskops.db.base import table_of

cases = table_of(Case)
case_transactions = table_of(CaseTransaction)
case_notes = table_of(CaseNote)
dispositions = table_of(Disposition)
OPEN_STATUSES = (CaseStatus.OPEN.value, CaseStatus.ASSIGNED.value)


@dataclass(frozen=True, slots=True)
class CaseFilter:
    status: str | None = None
    assignee: str | None = None
    reason_code: str | None = None
    min_amount: int | None = None
    max_amount: int | None = None
    country: str | None = None
    channel: str | None = None
    opened_before: datetime | None = None  # at least this old
    opened_after: datetime | None = None  # at most this old


def encode(sort: CaseSort, value: float | str, case_id: str) -> str:
    raw = orjson.dumps([sort.value, value, case_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(sort: CaseSort, cursor: str) -> tuple[Any, str]:
    """The (sort value, id) of a cursor this API issued for this order; 400 otherwise."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        kind, value, case_id = orjson.loads(raw)
        if kind != sort.value or not isinstance(case_id, str):
            raise ValueError("another order's cursor")
        if sort is not CaseSort.PRIORITY:
            value = datetime.fromisoformat(value)
        elif not isinstance(value, int | float):
            raise ValueError("not a priority")
        return value, case_id
    except (ValueError, TypeError) as error:
        raise BadRequest("the cursor is not one this API issued", {"field": "cursor"}) from error


def _upsert(connection: AsyncConnection) -> Any:
    return pg_insert if connection.dialect.name == "postgresql" else sqlite_insert


async def insert_case(connection: AsyncConnection, row: dict[str, Any]) -> None:
    await connection.execute(insert(cases).values(row))


async def add_transaction(
    connection: AsyncConnection, case_id: str, transaction_id: str, at: datetime
) -> bool:
    """Put a payment in a case; False if it already belongs to one (this or another)."""
    statement = (
        _upsert(connection)(case_transactions)
        .values(case_id=case_id, transaction_id=transaction_id, added_at=at)
        .on_conflict_do_nothing(index_elements=["transaction_id"])
        .returning(case_transactions.c.transaction_id)
    )
    return (await connection.execute(statement)).scalar() is not None


async def case_of_transaction(connection: AsyncConnection, transaction_id: str) -> str | None:
    found = await connection.scalar(
        select(case_transactions.c.case_id).where(
            case_transactions.c.transaction_id == transaction_id
        )
    )
    return str(found) if found is not None else None


async def open_case_of_card(
    connection: AsyncConnection, card_token: str, opened_since: datetime
) -> dict[str, Any] | None:
    row = (
        await connection.execute(
            select(cases)
            .where(
                cases.c.card_token == card_token,
                cases.c.status.in_(OPEN_STATUSES),
                cases.c.opened_at >= opened_since,
            )
            .order_by(cases.c.opened_at.desc())
            .limit(1)
        )
    ).first()
    return dict(row._mapping) if row is not None else None


async def grow(
    connection: AsyncConnection, case_id: str, amount_minor: int, priority: float, at: datetime
) -> None:
    """A joining payment adds its amount; the case is as urgent as its riskiest payment."""
    current = await connection.scalar(select(cases.c.priority).where(cases.c.id == case_id))
    await connection.execute(
        update(cases)
        .where(cases.c.id == case_id)
        .values(
            amount_minor=cases.c.amount_minor + amount_minor,
            priority=max(float(current or 0), priority),
            updated_at=at,
        )
    )


async def get_case(connection: AsyncConnection, case_id: str) -> dict[str, Any] | None:
    row = (await connection.execute(select(cases).where(cases.c.id == case_id))).first()
    return dict(row._mapping) if row is not None else None


async def claim(
    connection: AsyncConnection, case_id: str, assignee: str, at: datetime
) -> dict[str, Any] | None:
    """Assign an unassigned open case; None if it is not (anymore) — one claim wins."""
    row = (
        await connection.execute(
            update(cases)
            .where(
                cases.c.id == case_id,
                cases.c.status == CaseStatus.OPEN.value,
                cases.c.assignee.is_(None),
            )
            .values(assignee=assignee, status=CaseStatus.ASSIGNED.value, updated_at=at)
            .returning(*cases.c)
        )
    ).first()
    return dict(row._mapping) if row is not None else None


async def close(
    connection: AsyncConnection, case_id: str, disposition: str, at: datetime
) -> dict[str, Any] | None:
    """Close a case that is not closed; None if it is (a second disposition loses)."""
    row = (
        await connection.execute(
            update(cases)
            .where(cases.c.id == case_id, cases.c.status.in_(OPEN_STATUSES))
            .values(
                status=CaseStatus.CLOSED.value, disposition=disposition, closed_at=at, updated_at=at
            )
            .returning(*cases.c)
        )
    ).first()
    return dict(row._mapping) if row is not None else None


async def reopen(connection: AsyncConnection, case_id: str, at: datetime) -> dict[str, Any] | None:
    """Reopen a closed case, back to whoever held it; None if it is not closed."""
    row = (
        await connection.execute(
            update(cases)
            .where(cases.c.id == case_id, cases.c.status == CaseStatus.CLOSED.value)
            .values(
                status=when(
                    (cases.c.assignee.is_(None), CaseStatus.OPEN.value),
                    else_=CaseStatus.ASSIGNED.value,
                ),
                closed_at=None,
                updated_at=at,
            )
            .returning(*cases.c)
        )
    ).first()
    return dict(row._mapping) if row is not None else None


async def touch(connection: AsyncConnection, case_id: str, at: datetime) -> None:
    await connection.execute(update(cases).where(cases.c.id == case_id).values(updated_at=at))


async def insert_note(connection: AsyncConnection, row: dict[str, Any]) -> None:
    await connection.execute(insert(case_notes).values(row))


async def insert_disposition(connection: AsyncConnection, row: dict[str, Any]) -> None:
    await connection.execute(insert(dispositions).values(row))


async def notes_of(connection: AsyncConnection, case_id: str) -> list[dict[str, Any]]:
    rows = await connection.execute(
        select(case_notes).where(case_notes.c.case_id == case_id).order_by(case_notes.c.id)
    )
    return [dict(r._mapping) for r in rows]


async def dispositions_of(connection: AsyncConnection, case_id: str) -> list[dict[str, Any]]:
    rows = await connection.execute(
        select(dispositions).where(dispositions.c.case_id == case_id).order_by(dispositions.c.id)
    )
    return [dict(r._mapping) for r in rows]


async def transaction_ids_of(connection: AsyncConnection, case_id: str) -> list[str]:
    rows = await connection.execute(
        select(case_transactions.c.transaction_id)
        .where(case_transactions.c.case_id == case_id)
        .order_by(case_transactions.c.added_at, case_transactions.c.transaction_id)
    )
    return [str(r) for r in rows.scalars()]


def queue_query(where: CaseFilter, sort: CaseSort, limit: int, cursor: str | None) -> Select[Any]:
    """One page of the queue: an index range scan in the order of (status, priority, id),
    (status, opened_at, id) or (status, sla_due_at, id) when filtered by status
    (tests/cases/test_query_plans.py)."""
    conditions: list[Any] = []
    if where.status is not None:
        conditions.append(cases.c.status == where.status)
    if where.assignee is not None:
        conditions.append(cases.c.assignee == where.assignee)
    if where.reason_code is not None:
        # Reason codes are upper-case words: their quoted form in the JSON text is exact.
        # LIKE wildcards in the code itself (`_` is common in codes) match only themselves.
        code = "".join("\\" + ch if ch in "%_\\" else ch for ch in where.reason_code)
        conditions.append(cast(cases.c.reason_codes, String).like(f'%"{code}"%', escape="\\"))
    if where.min_amount is not None:
        conditions.append(cases.c.amount_minor >= where.min_amount)
    if where.max_amount is not None:
        conditions.append(cases.c.amount_minor <= where.max_amount)
    if where.country is not None:
        conditions.append(cases.c.country == where.country)
    if where.channel is not None:
        conditions.append(cases.c.channel == where.channel)
    if where.opened_before is not None:
        conditions.append(cases.c.opened_at <= where.opened_before)
    if where.opened_after is not None:
        conditions.append(cases.c.opened_at >= where.opened_after)
    if sort is CaseSort.PRIORITY:
        key, order = cases.c.priority, (cases.c.priority.desc(), cases.c.id.desc())
        if cursor is not None:
            value, last = _decode(sort, cursor)
            conditions.append(or_(key < value, and_(key == value, cases.c.id < last)))
    else:
        key = cases.c.opened_at if sort is CaseSort.AGE else cases.c.sla_due_at
        order = (key.asc(), cases.c.id.asc())
        if cursor is not None:
            value, last = _decode(sort, cursor)
            conditions.append(or_(key > value, and_(key == value, cases.c.id > last)))
    return select(cases).where(*conditions).order_by(*order).limit(limit + 1)


async def list_cases(
    connection: AsyncConnection,
    where: CaseFilter,
    sort: CaseSort,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One keyset page of the queue: by priority (highest first) or by age (oldest first)."""
    rows = (await connection.execute(queue_query(where, sort, limit, cursor))).all()
    items = [dict(r._mapping) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last_row = items[-1]
        column = {CaseSort.PRIORITY: "priority", CaseSort.AGE: "opened_at"}.get(sort, "sla_due_at")
        value = last_row[column]
        if sort is not CaseSort.PRIORITY:
            value = value.isoformat()
        next_cursor = encode(sort, value, last_row["id"])
    return items, next_cursor
