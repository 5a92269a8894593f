"""Group commit: the decisions of concurrent requests are written in one database transaction.

Committing each decision alone caps PostgreSQL near 1k/s; sharing a commit across the requests
that arrived meanwhile lifts that by an order of magnitude. Every request is still answered only
after its own rows are durable. One bad bundle never sinks its neighbours: a failed batch is
retried one bundle per transaction.
"""

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from riskops.db.base import table_of
from riskops.db.batching import Batcher
from riskops.decisions.models import Decision, DecisionAudit
from riskops.events.models import OutboxEvent
from riskops.ledger.models import Account, LedgerEntry, Transaction

log = logging.getLogger(__name__)

Row = dict[str, Any]
accounts = table_of(Account)
transactions = table_of(Transaction)
decisions = table_of(Decision)
audits = table_of(DecisionAudit)
entries = table_of(LedgerEntry)
outbox = table_of(OutboxEvent)


@dataclass(slots=True)
class DecisionRows:
    """Everything one decision writes, as plain dicts: Core inserts, no ORM on the hot path."""

    transaction: Row
    decision: Row
    audit: Row
    outbox: list[Row]
    ledger_entry: Row | None = None
    new_account: Row | None = None


class DecisionWriter(Batcher[DecisionRows, bool]):
    """`submit` resolves True once stored, False if the idempotency key was already stored."""

    def __init__(self, engine: AsyncEngine, batch_max: int, workers: int) -> None:
        super().__init__(batch_max, workers)
        self._engine = engine
        self._insert: Any = (
            postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        )

    async def run(self, items: list[DecisionRows]) -> list[bool | BaseException]:
        try:
            async with self._engine.begin() as connection:
                stored = await self._write(connection, items)
        except DBAPIError as error:
            if len(items) == 1:
                return [error]
            log.warning("a batch of %d failed (%s); retrying one by one", len(items), error)
            return [(await self.run([rows]))[0] for rows in items]
        return [rows.transaction["id"] in stored for rows in items]

    async def _write(self, connection: AsyncConnection, batch: list[DecisionRows]) -> set[str]:
        opened = {r.new_account["id"]: r.new_account for r in batch if r.new_account}
        if opened:
            await connection.execute(
                self._insert(accounts).on_conflict_do_nothing(), list(opened.values())
            )
        # Duplicate idempotency keys (another process, or a retry racing its original) are
        # skipped here and reported back, so the caller can replay the stored answer.
        result = await connection.execute(
            self._insert(transactions)
            .on_conflict_do_nothing(index_elements=["account_id", "idempotency_key"])
            .returning(transactions.c.id),
            [r.transaction for r in batch],
        )
        stored = set(result.scalars().all())
        kept = [r for r in batch if r.transaction["id"] in stored]
        if not kept:
            return stored
        await connection.execute(decisions.insert(), [r.decision for r in kept])
        await connection.execute(audits.insert(), [r.audit for r in kept])
        ledger = [r.ledger_entry for r in kept if r.ledger_entry]
        if ledger:
            await connection.execute(entries.insert(), ledger)
        await connection.execute(outbox.insert(), [event for r in kept for event in r.outbox])
        return stored
