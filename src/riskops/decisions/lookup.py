"""Before deciding: is this idempotency key already stored, and what currency does the account hold?

Concurrent requests share one query per batch (see `db.batching`).
"""

from dataclasses import dataclass

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from riskops.db.base import table_of
from riskops.db.batching import Batcher
from riskops.ledger.models import Account, Transaction

accounts = table_of(Account)
transactions = table_of(Transaction)


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
        pairs = {(k.account_id, k.idempotency_key) for k in items}
        async with self._engine.connect() as connection:
            currencies = dict(
                (
                    await connection.execute(
                        select(accounts.c.id, accounts.c.currency).where(
                            accounts.c.id.in_({account for account, _ in pairs})
                        )
                    )
                ).all()
            )
            rows = await connection.execute(
                select(
                    transactions.c.account_id,
                    transactions.c.idempotency_key,
                    transactions.c.id,
                    transactions.c.request_hash,
                ).where(
                    tuple_(transactions.c.account_id, transactions.c.idempotency_key).in_(pairs)
                )
            )
            stored = {(r[0], r[1]): Stored(r[2], r[3]) for r in rows}
        return [
            Found(currencies.get(k.account_id), stored.get((k.account_id, k.idempotency_key)))
            for k in items
        ]
