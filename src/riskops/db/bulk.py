"""Multi-row INSERTs through the raw driver, for the hot tables of the decision path.

SQLAlchemy Core spends most of a group commit's CPU processing parameters row by row; the
decision path writes six rows per payment, thousands of payments a second, on the event loop's
thread. Here the statement text is derived once per batch size from the same Table metadata
(so the schema still has one source), values are converted per column type, and one statement
per table goes to the driver (aiosqlite or asyncpg) inside one driver-level transaction.
"""

import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any, TypeVar

import orjson
from sqlalchemy import JSON, Table
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.db.types import UTCDateTime

Row = dict[str, Any]
MAX_PARAMETERS = 32_000
Convert = Callable[[Any], Any]
T = TypeVar("T")


# Cached: one decision writes the same `created_at` into six rows, and formatting it costs
# ~1.5 us each time; a hit costs ~0.1 us. Equal instants give equal text, so keying on the
# datetime's equality is exact.
@lru_cache(maxsize=256)
def _sqlite_datetime(value: datetime | None) -> str | None:
    # The exact text SQLAlchemy's SQLite DATETIME writes, so Core reads and compares it alike.
    if value is None:
        return None
    v = value.astimezone(UTC)
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d} "
        f"{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}"
    )


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


class BulkInsert:
    """INSERT rows of one table in a single statement: `INSERT ... VALUES (...), (...)`."""

    def __init__(
        self,
        table: Table,
        dialect: str,
        *,
        conflict_columns: Sequence[str] = (),
        returning: str | None = None,
    ) -> None:
        self.table = table
        self.dialect = dialect
        self.columns = [c.name for c in table.columns]
        self._converters: list[Convert | None] = [self._converter(c.type) for c in table.columns]
        # A row's values in column order in one C call, then only the columns that need it
        # converted: the per-column Python loop was half of a decision's write CPU (measured).
        self._values = itemgetter(*self.columns)
        self._converted = [(i, c) for i, c in enumerate(self._converters) if c is not None]
        self._suffix = ""
        if conflict_columns:
            self._suffix += f" ON CONFLICT ({', '.join(conflict_columns)}) DO NOTHING"
        if returning:
            self._suffix += f" RETURNING {returning}"
        self._statement = lru_cache(maxsize=64)(self._build)

    def _converter(self, column_type: Any) -> Convert | None:
        if isinstance(column_type, UTCDateTime):
            return _sqlite_datetime if self.dialect == "sqlite" else None
        if isinstance(column_type, JSON):
            return _json
        return None

    def _build(self, rows: int) -> str:
        width = len(self.columns)
        if self.dialect == "sqlite":
            group = "(" + ", ".join("?" * width) + ")"
            values = ", ".join([group] * rows)
        else:
            values = ", ".join(
                "(" + ", ".join(f"${r * width + c + 1}" for c in range(width)) + ")"
                for r in range(rows)
            )
        names = ", ".join(f'"{name}"' for name in self.columns)
        # Identifiers come from our Table metadata; every value is a bound parameter.
        return f'INSERT INTO "{self.table.name}" ({names}) VALUES {values}{self._suffix}'  # noqa: S608

    def parameters(self, rows: Sequence[Row]) -> list[Any]:
        flat: list[Any] = []
        values, converted = self._values, self._converted
        single = len(self.columns) == 1  # itemgetter of one key returns the bare value
        for row in rows:
            row_values = [values(row)] if single else list(values(row))
            for index, convert in converted:
                row_values[index] = convert(row_values[index])
            flat += row_values
        return flat

    def _chunks(self, rows: Sequence[Row]) -> Iterator[Sequence[Row]]:
        # Both engines cap bound parameters near 32k per statement.
        chunk = MAX_PARAMETERS // len(self.columns)
        for start in range(0, len(rows), chunk):
            yield rows[start : start + chunk]

    async def execute(self, driver: Any, rows: Sequence[Row]) -> list[Any]:
        """Insert `rows`; return the RETURNING column's values (empty without RETURNING)."""
        returned: list[Any] = []
        for chunk in self._chunks(rows):
            returned += await self._execute(driver, chunk)
        return returned

    def execute_sqlite(self, connection: sqlite3.Connection, rows: Sequence[Row]) -> list[Any]:
        """`execute` on a plain sqlite3 connection, in the thread that owns it."""
        returned: list[Any] = []
        for chunk in self._chunks(rows):
            if chunk:
                sql, params = self._statement(len(chunk)), self.parameters(chunk)
                returned += [r[0] for r in connection.execute(sql, params).fetchall()]
        return returned

    async def _execute(self, driver: Any, rows: Sequence[Row]) -> list[Any]:
        if not rows:
            return []
        sql, params = self._statement(len(rows)), self.parameters(rows)
        if self.dialect == "sqlite":
            # One trip to aiosqlite's thread instead of three (execute, fetchall, close): each
            # trip is a queue hand-off and a loop wake-up, the bulk of a small batch's CPU.
            return [r[0] for r in await driver.execute_fetchall(sql, params)]
        if "RETURNING" in self._suffix:
            return [r[0] for r in await driver.fetch(sql, *params)]
        await driver.execute(sql, *params)
        return []


async def in_sqlite_thread(
    connection: AsyncConnection, work: Callable[[sqlite3.Connection], T]
) -> T:
    """Run `work(sqlite3 connection)` in the thread aiosqlite keeps for it: ONE hand-off.

    Every aiosqlite call is a trip to that thread and back (a queue put, a thread wake-up, a
    loop wake-up): ~50-75 us of CPU each on this machine, measured, and a batch of one
    decision took eleven of them with one call per statement. A whole write transaction
    run as one function takes one. Uses aiosqlite's `_execute`/`_conn` (the lock pins the
    version; tests/db/test_bulk.py fails if they change).
    """
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    result: T = await driver._execute(work, driver._conn)
    return result


def sqlite_transaction(connection: sqlite3.Connection, work: Callable[[], T]) -> T:
    """`work()` inside BEGIN IMMEDIATE ... COMMIT on a plain sqlite3 connection; rolled back if it
    raises. For `in_sqlite_thread`."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        result = work()
        connection.commit()
    except BaseException:
        # A failed COMMIT (busy, I/O) leaves the transaction open: on a connection of its own,
        # with no pool to reset it, the next BEGIN would fail forever.
        if connection.in_transaction:
            connection.rollback()
        raise
    return result


@contextlib.asynccontextmanager
async def driver_transaction(connection: AsyncConnection) -> AsyncIterator[Any]:
    """The raw driver connection inside one transaction of its own: commit on success."""
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    if connection.dialect.name == "sqlite":
        await driver.execute("BEGIN IMMEDIATE")
        try:
            yield driver
        except BaseException:
            await driver.rollback()
            raise
        await driver.commit()
    else:
        async with driver.transaction():
            yield driver
