"""Before deciding: is this idempotency key already stored, and what currency does the account hold?

Always the database's answer, never a memory of keys: several API processes may share one
database, and only what it holds is exact. On PostgreSQL concurrent requests share one query
per batch (see `db.batching`). On SQLite each request reads at once, in the event loop's
thread, through a connection of the lookup's own (see `db.sqlite_direct`): a point read in WAL
mode never waits for the writer and costs less than a hand-off to a driver thread.
"""

import logging
import sqlite3
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from riskops.db.batching import Batcher
from riskops.db.bulk import in_sqlite_thread
from riskops.db.sqlite_direct import open_sqlite, sqlite_path

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LookupKey:
    account_id: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class Stored:
    transaction_id: str
    request_hash: str


@dataclass(frozen=True, slots=True)
class Found:
    currency: str | None  # None: the account does not exist yet
    stored: Stored | None  # the transaction already stored under this key, if any


class IdempotencyLookup(Batcher[LookupKey, Found]):
    def __init__(self, engine: AsyncEngine, batch_max: int) -> None:
        super().__init__(batch_max)
        self._engine = engine
        self._path = sqlite_path(engine.url) if engine.dialect.name == "sqlite" else None
        self._reader: sqlite3.Connection | None = None

    async def submit(self, item: LookupKey) -> Found:
        if self._path is not None:
            try:
                return self.read_now(item)
            except sqlite3.OperationalError as error:
                # Busy (a recovery or a schema change holds the file) or not migrated yet: the
                # batched read in the driver's thread waits for it off the loop, or reports it.
                log.debug("direct idempotency read failed (%s); batching it", error)
        return await super().submit(item)

    def read_now(self, key: LookupKey) -> Found:
        """The SQLite lookup of one key in this thread; raises rather than wait on a lock."""
        if self._reader is None:
            # Opened in the loop's thread and used only there; never waits on a lock.
            self._reader = open_sqlite(self._path or "", busy_timeout_ms=0)
        rows = self._reader.execute(_ONE_KEY, (key.account_id, key.idempotency_key)).fetchall()
        currency, transaction_id, request_hash = rows[0]
        stored = Stored(transaction_id, request_hash) if transaction_id is not None else None
        return Found(currency, stored)

    async def stop(self, drain_seconds: float = 30.0) -> None:
        await super().stop(drain_seconds)
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()

    async def run(self, items: list[LookupKey]) -> list[Found | BaseException]:
        # Raw driver queries: this runs for every payment, and SQLAlchemy's expanding-IN
        # compilation cost more than the queries themselves.
        pairs = list({(k.account_id, k.idempotency_key) for k in items})
        async with self._engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                # Both queries in aiosqlite's thread, one hand-off (see db/bulk.py).
                work = partial(_sqlite_lookup, pairs)
                currencies, stored = await in_sqlite_thread(connection, work)
            else:
                driver: Any = (await connection.get_raw_connection()).driver_connection
                currencies, stored = await _postgres_lookup(driver, pairs)
        return [
            Found(currencies.get(k.account_id), stored.get((k.account_id, k.idempotency_key)))
            for k in items
        ]


Pair = tuple[str, str]
# One key, one statement (two cost ~30 us more, measured): exactly one row, NULLs for what is
# not stored. Both joins are index searches (the accounts key, the idempotency unique index).
_ONE_KEY = (
    "SELECT a.currency, t.id, t.request_hash "
    "FROM (SELECT ? AS account_id, ? AS idempotency_key) AS k "
    "LEFT JOIN accounts AS a ON a.id = k.account_id "
    "LEFT JOIN transactions AS t "
    "ON t.account_id = k.account_id AND t.idempotency_key = k.idempotency_key"
)


def _sqlite_lookup(
    pairs: list[Pair], connection: sqlite3.Connection
) -> tuple[dict[str, str], dict[Pair, Stored]]:
    account_ids = list({account for account, _ in pairs})
    marks = ", ".join("?" * len(account_ids))
    rows = connection.execute(
        f"SELECT id, currency FROM accounts WHERE id IN ({marks})",  # noqa: S608 - only ?s
        account_ids,
    ).fetchall()
    currencies = {row[0]: row[1] for row in rows}
    values = ", ".join(["(?, ?)"] * len(pairs))
    # A join against the VALUES list uses the unique index; `(a, b) IN (VALUES ...)` scans.
    rows = connection.execute(
        "SELECT t.account_id, t.idempotency_key, t.id, t.request_hash "  # noqa: S608 - only ?s
        f"FROM (VALUES {values}) AS k JOIN transactions AS t "
        "ON t.account_id = k.column1 AND t.idempotency_key = k.column2",
        [value for pair in pairs for value in pair],
    ).fetchall()
    stored = {(r[0], r[1]): Stored(r[2], r[3]) for r in rows}
    return currencies, stored


async def _postgres_lookup(
    driver: Any, pairs: list[Pair]
) -> tuple[dict[str, str], dict[Pair, Stored]]:
    # One statement, one round trip: a row per asked pair, with its account's currency and the
    # transaction stored under it, each NULL when there is none.
    rows = await driver.fetch(
        "SELECT k.account_id, k.idempotency_key, a.currency, t.id, t.request_hash "
        "FROM unnest($1::text[], $2::text[]) AS k(account_id, idempotency_key) "
        "LEFT JOIN accounts a ON a.id = k.account_id "
        "LEFT JOIN transactions t "
        "ON t.account_id = k.account_id AND t.idempotency_key = k.idempotency_key",
        [account for account, _ in pairs],
        [key for _, key in pairs],
    )
    currencies = {r[0]: r[2] for r in rows if r[2] is not None}
    stored = {(r[0], r[1]): Stored(r[3], r[4]) for r in rows if r[3] is not None}
    return currencies, stored
