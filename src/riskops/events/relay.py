"""The outbox relay: committed outbox rows go to the bus, then are marked sent.

On PostgreSQL a batch is claimed with `FOR UPDATE SKIP LOCKED` inside the transaction that
marks it, so several relays share the work and never mark a row twice; a relay killed
between publish and mark leaves its rows unmarked and they are published again
(at-least-once; consumers deduplicate by event id). The relay wakes on an in-process signal
from the decision writer, on PostgreSQL NOTIFY from other processes, and polls as a fallback.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from riskops.core.background import wait_event
from riskops.core.errors import RiskOpsError
from riskops.db import transaction
from riskops.db.base import table_of
from riskops.db.types import utcnow
from riskops.events.bus import EventBus, Message
from riskops.events.embedded import EmbeddedLog
from riskops.events.envelope import headers_for
from riskops.events.models import OutboxEvent
from riskops.observability import tracing

log = logging.getLogger(__name__)
outbox = table_of(OutboxEvent)
NOTIFY_CHANNEL = "riskops_outbox"


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        bus: EventBus,
        *,
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        retention: timedelta = timedelta(hours=24),
        log_retention: timedelta = timedelta(days=7),
        cleanup_every: float = 60.0,
    ) -> None:
        self.engine = engine
        self.bus = bus
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.retention = retention
        self.log_retention = log_retention
        self.cleanup_every = cleanup_every
        self.published = 0
        self._wakeup = asyncio.Event()

    def notify(self) -> None:
        """New outbox rows committed in this process: relay them now."""
        self._wakeup.set()

    async def relay_once(self) -> int:
        """Publish one batch of unpublished rows and mark them; returns how many."""
        claim: Select[Any] = (
            select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.payload)
            .where(outbox.c.published_at.is_(None))
            .order_by(outbox.c.id)
            .limit(self.batch_size)
        )
        if self.engine.dialect.name == "postgresql":
            # The claim, the publish and the mark share one transaction: other relays skip
            # these rows while it is open and see them as sent once it commits.
            async with transaction(self.engine) as connection:
                rows = (await connection.execute(claim.with_for_update(skip_locked=True))).all()
                await self._publish_and_mark(connection, rows)
        else:
            # SQLite has one writer: holding it across the publish would stall the decision
            # writer. One relay per database reads, then publishes (to a broker) or appends (to
            # the embedded log, exactly once) and marks, in a short write transaction.
            async with self.engine.connect() as connection:
                rows = (await connection.execute(claim)).all()
            async with transaction(self.engine) as connection:
                await self._publish_and_mark(connection, rows)
        if rows and isinstance(self.bus, EmbeddedLog) and self._same_database:
            self.bus.notify_appended()
        self.published += len(rows)
        return len(rows)

    @property
    def _same_database(self) -> bool:
        return isinstance(self.bus, EmbeddedLog) and self.bus.engine is self.engine

    async def _publish_and_mark(self, connection: AsyncConnection, rows: Any) -> None:
        if not rows:
            return
        messages = [
            Message(topic, orjson.dumps(payload), key, headers_for(payload))
            for _, topic, key, payload in rows
        ]
        # Each event's publish joins the trace of the request that wrote it.
        spans = tracing.start_spans(
            "riskops.relay.publish", [payload.get("traceparent") for *_, payload in rows]
        )
        try:
            if self._same_database:
                # The log lives in this database: append and mark in one transaction.
                assert isinstance(self.bus, EmbeddedLog)
                await self.bus.append(connection, messages)
            else:
                await self.bus.publish(messages)
        finally:
            tracing.end_spans(spans)
        await connection.execute(
            update(outbox)
            .where(outbox.c.id.in_([row[0] for row in rows]))
            .values(published_at=utcnow())
        )

    async def cleanup(self) -> int:
        """Delete rows sent longer ago than the retention; returns how many.

        On the embedded log, messages older than its retention go too (a broker does this
        itself), so the log table does not grow without bound.
        """
        async with transaction(self.engine) as connection:
            result = await connection.execute(
                delete(outbox).where(outbox.c.published_at < utcnow() - self.retention)
            )
        if isinstance(self.bus, EmbeddedLog):
            await self.bus.prune(utcnow() - self.log_retention)
        return int(result.rowcount or 0)

    async def backlog(self) -> int:
        async with self.engine.connect() as connection:
            count = await connection.scalar(
                select(func.count()).where(outbox.c.published_at.is_(None))
            )
        return int(count or 0)

    async def run(self, stopping: asyncio.Event) -> None:
        """Relay until `stopping` is set (call notify() after setting it to wake the loop)."""
        async with self._listening():
            last_cleanup = 0.0
            while not stopping.is_set():
                self._wakeup.clear()
                try:
                    moved = await self.relay_once()
                except RiskOpsError as error:  # the bus is down: rows wait in the outbox
                    log.warning("relay: %s; retrying", error.message)
                    moved = 0
                    await wait_event(stopping, min(self.poll_seconds, 1.0))
                if time.monotonic() - last_cleanup > self.cleanup_every:
                    last_cleanup = time.monotonic()
                    await self.cleanup()
                if moved >= self.batch_size:
                    continue  # more is waiting
                await wait_event(self._wakeup, self.poll_seconds)

    @contextlib.asynccontextmanager
    async def _listening(self) -> AsyncIterator[None]:
        """On PostgreSQL, LISTEN for commits of other processes (migration 0003's trigger)."""
        if self.engine.dialect.name != "postgresql":
            yield
            return
        async with self.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver: Any = raw.driver_connection

            def woken(*_: object) -> None:
                self._wakeup.set()

            await driver.add_listener(NOTIFY_CHANNEL, woken)
            try:
                yield
            finally:
                with contextlib.suppress(Exception):
                    await driver.remove_listener(NOTIFY_CHANNEL, woken)
