"""Before deciding: is this idempotency key already stored, and what currency does the account hold?

Concurrent requests share one query per batch (see `db.batching`).
"""

import sqlite3
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from riskops.db.batching import Batcher
from riskops.db.bulk import in_sqlite_thread


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

    async def run(self, items: list[LookupKey]) -> list[Found | BaseException]:
        # Raw driver queries: this runs for every payment, and SQLAlchemy's expanding-IN
        # compilation cost more than the queries themselves.
        pairs = list({(k.account_id, k.idempotency_key) for k in items})
        account_ids = list({account for account, _ in pairs})
        async with self._engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                # Both queries in aiosqlite's thread, one hand-off (see db/bulk.py).
                work = partial(_sqlite_lookup, account_ids, pairs)
                currencies, stored = await in_sqlite_thread(connection, work)
            else:
                driver: Any = (await connection.get_raw_connection()).driver_connection
                currencies, stored = await _postgres_lookup(driver, account_ids, pairs)
        return [
            Found(currencies.get(k.account_id), stored.get((k.account_id, k.idempotency_key)))
            for k in items
        ]


Pair = tuple[str, str]


def _sqlite_lookup(
    account_ids: list[str], pairs: list[Pair], connection: sqlite3.Connection
) -> tuple[dict[str, str], dict[Pair, Stored]]:
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
    driver: Any, account_ids: list[str], pairs: list[Pair]
) -> tuple[dict[str, str], dict[Pair, Stored]]:
    rows = await driver.fetch(
        "SELECT id, currency FROM accounts WHERE id = ANY($1::text[])", account_ids
    )
    currencies = {row[0]: row[1] for row in rows}
    rows = await driver.fetch(
        "SELECT t.account_id, t.idempotency_key, t.id, t.request_hash FROM transactions t "
        "JOIN unnest($1::text[], $2::text[]) AS k(account_id, idempotency_key) "
        "ON t.account_id = k.account_id AND t.idempotency_key = k.idempotency_key",
        [account for account, _ in pairs],
        [key for _, key in pairs],
    )
    stored = {(r[0], r[1]): Stored(r[2], r[3]) for r in rows}
    return currencies, stored
