"""Bulk inserts on SQLite in one hand-off to aiosqlite's thread: atomic, values as Core writes."""

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import JSON as SAJSON
from sqlalchemy import Column, MetaData, String, Table, select

from riskops.db.bulk import BulkInsert, in_sqlite_thread, sqlite_transaction
from riskops.db.engine import create_engine
from riskops.db.types import UTCDateTime

METADATA = MetaData()
ITEMS = Table(
    "items",
    METADATA,
    Column("id", String, primary_key=True),
    Column("at", UTCDateTime()),
    Column("body", SAJSON()),
)


async def test_rows_go_in_atomically_and_read_back_through_core(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'bulk.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(METADATA.create_all)
    insert = BulkInsert(ITEMS, "sqlite", conflict_columns=["id"], returning="id")
    # The same instant in two offsets: one cached text, the UTC one.
    at = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    rows = [
        {"id": "a", "at": at, "body": {"k": [1, 2]}},
        {"id": "b", "at": at.astimezone(timezone(timedelta(hours=2))), "body": None},
    ]

    def write(connection: sqlite3.Connection) -> list[str]:
        return sqlite_transaction(connection, lambda: insert.execute_sqlite(connection, rows))

    async with engine.connect() as connection:
        assert await in_sqlite_thread(connection, write) == ["a", "b"]
        assert await in_sqlite_thread(connection, write) == []  # duplicates are skipped

    def failing(connection: sqlite3.Connection) -> None:
        def work() -> None:
            insert.execute_sqlite(connection, [{"id": "c", "at": at, "body": None}])
            raise RuntimeError("the batch fails after its first insert")

        sqlite_transaction(connection, work)

    async with engine.connect() as connection:
        with pytest.raises(RuntimeError):
            await in_sqlite_thread(connection, failing)
    async with engine.connect() as connection:
        stored = (await connection.execute(select(ITEMS).order_by(ITEMS.c.id))).all()
    await engine.dispose()
    assert [(r.id, r.at, r.body) for r in stored] == [("a", at, {"k": [1, 2]}), ("b", at, None)]
