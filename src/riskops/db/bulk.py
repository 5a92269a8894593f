"""Multi-row INSERTs through the raw driver, for the hot tables of the decision path.

SQLAlchemy Core spends most of a group commit's CPU processing parameters row by row; the
decision path writes six rows per payment, thousands of payments a second, on the event loop's
thread. Here the statement text is derived once per batch size from the same Table metadata
(so the schema still has one source), values are converted per column type, and one statement
per table goes to the driver (aiosqlite or asyncpg) inside one driver-level transaction.
"""

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import JSON, Table
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.db.types import UTCDateTime

Row = dict[str, Any]
MAX_PARAMETERS = 32_000
Convert = Callable[[Any], Any]


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
        pairs = list(zip(self.columns, self._converters, strict=True))
        for row in rows:
            for name, convert in pairs:
                value = row[name]
                flat.append(value if convert is None else convert(value))
        return flat

    async def execute(self, driver: Any, rows: Sequence[Row]) -> list[Any]:
        """Insert `rows`; return the RETURNING column's values (empty without RETURNING)."""
        # Both engines cap bound parameters near 32k per statement.
        chunk = MAX_PARAMETERS // len(self.columns)
        returned: list[Any] = []
        for start in range(0, len(rows), chunk):
            returned += await self._execute(driver, rows[start : start + chunk])
        return returned

    async def _execute(self, driver: Any, rows: Sequence[Row]) -> list[Any]:
        if not rows:
            return []
        sql, params = self._statement(len(rows)), self.parameters(rows)
        if self.dialect == "sqlite":
            cursor = await driver.execute(sql, params)
            fetched = await cursor.fetchall()
            await cursor.close()
            return [r[0] for r in fetched]
        if "RETURNING" in self._suffix:
            return [r[0] for r in await driver.fetch(sql, *params)]
        await driver.execute(sql, *params)
        return []


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
