"""Queries of ruleset versions and drafts (Core, on the caller's connection)."""

from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.db.base import table_of
from riskops.decisions.models import Decision
from riskops.labels.models import Label
from riskops.rulesets.models import RulesetDraft, RulesetVersion

versions = table_of(RulesetVersion)
drafts = table_of(RulesetDraft)
decisions = table_of(Decision)
labels = table_of(Label)
Row = dict[str, Any]


async def list_versions(connection: AsyncConnection) -> list[Row]:
    query = select(versions).order_by(versions.c.version.desc())
    return [dict(row) for row in (await connection.execute(query)).mappings()]


async def get_version(connection: AsyncConnection, version: int) -> Row | None:
    query = select(versions).where(versions.c.version == version)
    row = (await connection.execute(query)).mappings().first()
    return dict(row) if row else None


async def active_version(connection: AsyncConnection) -> Row | None:
    query = select(versions).where(versions.c.status == "active")
    row = (await connection.execute(query)).mappings().first()
    return dict(row) if row else None


async def active_identity(connection: AsyncConnection) -> tuple[int, str] | None:
    """The active version's number and checksum: what the hot-reload poll reads each second."""
    query = select(versions.c.version, versions.c.checksum).where(versions.c.status == "active")
    row = (await connection.execute(query)).first()
    return (row[0], row[1]) if row else None


async def next_version(connection: AsyncConnection) -> int:
    latest = (await connection.execute(select(func.max(versions.c.version)))).scalar()
    return int(latest or 0) + 1


async def activate(connection: AsyncConnection, row: Row) -> None:
    """Supersede the active version and insert `row` as the active one.

    Two approvals racing for the same number collide on the primary key; the loser's
    transaction rolls back whole, its supersede included.
    """
    await connection.execute(
        update(versions).where(versions.c.status == "active").values(status="superseded")
    )
    await connection.execute(insert(versions).values(**row))


async def insert_draft(connection: AsyncConnection, row: Row) -> None:
    await connection.execute(insert(drafts).values(**row))


async def get_draft(connection: AsyncConnection, draft_id: str) -> Row | None:
    row = (await connection.execute(select(drafts).where(drafts.c.id == draft_id))).mappings()
    found = row.first()
    return dict(found) if found else None


async def list_drafts(connection: AsyncConnection, status: str | None, limit: int) -> list[Row]:
    query = select(drafts).order_by(drafts.c.updated_at.desc(), drafts.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(drafts.c.status == status)
    return [dict(row) for row in (await connection.execute(query)).mappings()]


async def transition(
    connection: AsyncConnection, draft_id: str, expected: str, values: Row
) -> bool:
    """Move a draft out of `expected` status; False if another request moved it first.

    A conditional UPDATE rather than read-then-write: of two concurrent approvals exactly one
    matches the row, on SQLite and PostgreSQL alike.
    """
    result = await connection.execute(
        update(drafts).where(drafts.c.id == draft_id, drafts.c.status == expected).values(**values)
    )
    return result.rowcount == 1


async def save_backtest(connection: AsyncConnection, draft_id: str, result: Row) -> None:
    await connection.execute(update(drafts).where(drafts.c.id == draft_id).values(backtest=result))


async def recent_rule_hits(
    connection: AsyncConnection, since: Any, limit: int
) -> list[tuple[str, list[dict[str, Any]], list[dict[str, Any]]]]:
    """Per decision since `since` (newest first, at most `limit`): its transaction id, its
    rule hits and its shadow rules' hits (none for decisions made before they were kept)."""
    query = (
        select(decisions.c.transaction_id, decisions.c.rule_hits, decisions.c.shadow_hits)
        .where(decisions.c.created_at >= since)
        .order_by(decisions.c.created_at.desc())
        .limit(limit)
    )
    return [(row[0], row[1] or [], row[2] or []) for row in await connection.execute(query)]


_IN_CHUNK = 500  # well under SQLite's bound-parameter limit


async def latest_labels(connection: AsyncConnection, ids: list[str]) -> dict[str, int]:
    """The latest label of each of `ids` that has one (a chargeback may overturn an
    analyst's call, so the newest wins)."""
    found: dict[str, int] = {}
    for start in range(0, len(ids), _IN_CHUNK):
        query = (
            select(labels.c.transaction_id, labels.c.label)
            .where(labels.c.transaction_id.in_(ids[start : start + _IN_CHUNK]))
            .order_by(labels.c.labelled_at, labels.c.id)
        )
        found.update({row[0]: int(row[1]) for row in await connection.execute(query)})
    return found
