"""Group commit: the decisions of concurrent requests are written in one database transaction.

Committing each decision alone caps PostgreSQL near 1k/s; sharing a commit across the requests
that arrived meanwhile lifts that by an order of magnitude. Every request is still answered only
after its own rows are durable. One bad bundle never sinks its neighbours: a failed batch is
retried one bundle per transaction.
"""

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from riskops.db.base import table_of
from riskops.decisions.models import Decision, DecisionAudit
from riskops.events.models import OutboxEvent
from riskops.ledger.models import Account, LedgerEntry, Transaction

log = logging.getLogger(__name__)

Row = dict[str, Any]


def _new_future() -> "asyncio.Future[bool]":
    return asyncio.get_running_loop().create_future()


@dataclass(slots=True)
class DecisionRows:
    """Everything one decision writes, as plain dicts: Core inserts, no ORM on the hot path."""

    transaction: Row
    decision: Row
    audit: Row
    outbox: list[Row]
    ledger_entry: Row | None = None
    new_account: Row | None = None
    done: asyncio.Future[bool] = field(default_factory=_new_future)


class DecisionWriter:
    """Writes bundles in batches; `write` resolves True if stored, False on an idempotency clash."""

    def __init__(self, engine: AsyncEngine, batch_max: int, workers: int) -> None:
        self._engine = engine
        self._batch_max = batch_max
        self._workers = workers
        self._queue: asyncio.Queue[DecisionRows] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._insert = _dialect_insert(engine.dialect.name)

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._run(), name=f"writer-{i}") for i in range(self._workers)
        ]

    async def stop(self) -> None:
        # Let queued bundles land before shutting down: accepted requests are never dropped.
        if self._tasks:
            await self._queue.join()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def write(self, rows: DecisionRows) -> bool:
        if not self._tasks:
            raise RuntimeError("DecisionWriter.start() was not called")
        self._queue.put_nowait(rows)
        return await rows.done

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._batch_max and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._commit(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _commit(self, batch: list[DecisionRows]) -> None:
        try:
            async with self._engine.begin() as connection:
                stored = await self._write(connection, batch)
        except (IntegrityError, DBAPIError) as error:
            if len(batch) == 1:
                _settle(batch, error=error)
                return
            log.warning("batch of %d failed (%s); retrying one by one", len(batch), error)
            for rows in batch:
                await self._commit([rows])
            return
        except Exception as error:
            _settle(batch, error=error)
            raise
        _settle(batch, stored=stored)

    async def _write(self, connection: AsyncConnection, batch: list[DecisionRows]) -> set[str]:
        accounts = {r.new_account["id"]: r.new_account for r in batch if r.new_account}
        if accounts:
            await connection.execute(
                self._insert(table_of(Account)).on_conflict_do_nothing(), list(accounts.values())
            )
        # Duplicate idempotency keys (another process, or a retry racing its original) are
        # skipped here and reported back, so the caller can replay the stored answer.
        result = await connection.execute(
            self._insert(table_of(Transaction))
            .on_conflict_do_nothing(index_elements=["account_id", "idempotency_key"])
            .returning(table_of(Transaction).c.id),
            [r.transaction for r in batch],
        )
        stored = set(result.scalars().all())
        kept = [r for r in batch if r.transaction["id"] in stored]
        if not kept:
            return stored
        await connection.execute(table_of(Decision).insert(), [r.decision for r in kept])
        await connection.execute(table_of(DecisionAudit).insert(), [r.audit for r in kept])
        entries = [r.ledger_entry for r in kept if r.ledger_entry]
        if entries:
            await connection.execute(table_of(LedgerEntry).insert(), entries)
        await connection.execute(
            table_of(OutboxEvent).insert(), [event for r in kept for event in r.outbox]
        )
        return stored


def _dialect_insert(dialect: str) -> Any:
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def _settle(
    batch: list[DecisionRows], *, stored: set[str] | None = None, error: BaseException | None = None
) -> None:
    for rows in batch:
        if rows.done.done():
            continue
        if error is not None:
            rows.done.set_exception(error)
        else:
            rows.done.set_result(rows.transaction["id"] in (stored or set()))
