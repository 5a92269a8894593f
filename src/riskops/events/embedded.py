"""The embedded event log: a table in our own database, nothing else to install.

One sequence of offsets for all topics. Appends on PostgreSQL take a transaction-scoped
advisory lock, so offsets commit in the order they were assigned and a reader that has seen
offset N can never later find a smaller one appear (SQLite has one writer anyway). A topic
has one partition: per-key order holds, and a group is served by one consumer at a time.
"""

import asyncio
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from riskops.core.background import wait_event
from riskops.core.errors import Unavailable
from riskops.db import transaction
from riskops.db.base import table_of
from riskops.db.types import utcnow
from riskops.events.bus import Delivered, Message
from riskops.events.models import ConsumerOffset, EventLogEntry

log_table = table_of(EventLogEntry)
offsets_table = table_of(ConsumerOffset)
APPEND_LOCK = 0x52534B4F505331  # any constant shared by every appender


class EmbeddedLog:
    name = "embedded"

    def __init__(self, engine: AsyncEngine, poll_interval: float = 0.25) -> None:
        self.engine = engine
        self._poll_interval = poll_interval
        # Readers in this process wake the moment an append commits; others poll. A fresh
        # event per append, taken before reading, so no wake-up falls between read and wait.
        self.appended = asyncio.Event()

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        """Topics of the embedded log exist as soon as a message names them."""

    async def publish(self, messages: Sequence[Message]) -> None:
        if not messages:
            return
        try:
            async with transaction(self.engine) as connection:
                await self.append(connection, messages)
        except DBAPIError as error:
            raise Unavailable(f"the event log could not store {len(messages)} messages") from error
        self.notify_appended()

    async def append(self, connection: AsyncConnection, messages: Sequence[Message]) -> None:
        """Append inside the caller's transaction (the relay marks its outbox rows in the same
        one: on the embedded log, relaying is exactly-once). Call notify_appended() after commit.
        """
        if connection.dialect.name == "postgresql":
            await connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": APPEND_LOCK})
        now = utcnow()
        await connection.execute(
            insert(log_table),
            [
                {"topic": m.topic, "key": m.key, "value": m.value, "headers": m.headers,
                 "created_at": now}
                for m in messages
            ],
        )  # fmt: skip

    def notify_appended(self) -> None:
        fired, self.appended = self.appended, asyncio.Event()
        fired.set()

    def subscribe(self, group: str, topics: Sequence[str]) -> "EmbeddedSubscription":
        return EmbeddedSubscription(self, group, list(topics))

    async def wait_for_append(self, appended: asyncio.Event, wait_seconds: float) -> None:
        await wait_event(appended, min(wait_seconds, self._poll_interval))

    async def lag(self, group: str, topics: Sequence[str]) -> dict[str, int]:
        async with self.engine.connect() as connection:
            rows = await connection.execute(
                select(offsets_table.c.topic, offsets_table.c.position).where(
                    offsets_table.c.group_id == group, offsets_table.c.topic.in_(topics)
                )
            )
            committed = {topic: int(position) for topic, position in rows}
            result = {}
            for topic in topics:
                result[topic] = int(
                    await connection.scalar(
                        select(func.count()).where(
                            log_table.c.topic == topic,
                            log_table.c.offset > committed.get(topic, 0),
                        )
                    )
                    or 0
                )
        return result

    async def prune(self, before: datetime) -> int:
        """Drop messages older than `before` (retention); returns how many."""
        async with transaction(self.engine) as connection:
            result = await connection.execute(
                delete(log_table).where(log_table.c.created_at < before)
            )
        return int(result.rowcount or 0)

    async def close(self) -> None:
        """The engine belongs to the runtime, which disposes of it."""


class EmbeddedSubscription:
    def __init__(self, log: EmbeddedLog, group: str, topics: list[str]) -> None:
        self._log = log
        self._group = group
        self._topics = topics
        self._positions: dict[str, int] | None = None

    async def _load_positions(self) -> dict[str, int]:
        async with self._log.engine.connect() as connection:
            rows = await connection.execute(
                select(offsets_table.c.topic, offsets_table.c.position).where(
                    offsets_table.c.group_id == self._group,
                    offsets_table.c.topic.in_(self._topics),
                )
            )
            stored = {topic: int(position) for topic, position in rows}
        return {topic: int(stored.get(topic, 0)) for topic in self._topics}

    async def poll(self, max_messages: int, wait_seconds: float) -> list[Delivered]:
        if self._positions is None:
            self._positions = await self._load_positions()
        deadline = asyncio.get_running_loop().time() + wait_seconds
        while True:
            appended = self._log.appended
            found = await self._read(self._positions, max_messages)
            remaining = deadline - asyncio.get_running_loop().time()
            if found or remaining <= 0:
                break
            await self._log.wait_for_append(appended, remaining)
        for message in found:
            self._positions[message.topic] = max(self._positions[message.topic], message.offset)
        return found

    async def _read(self, positions: dict[str, int], limit: int) -> list[Delivered]:
        # Each topic from its own position (one index range scan per topic), merged by offset.
        found: list[Delivered] = []
        async with self._log.engine.connect() as connection:
            for topic, position in positions.items():
                rows = await connection.execute(
                    select(
                        log_table.c.offset, log_table.c.key, log_table.c.value, log_table.c.headers
                    )
                    .where(log_table.c.topic == topic, log_table.c.offset > position)
                    .order_by(log_table.c.offset)
                    .limit(limit)
                )
                found += [
                    Delivered(topic, 0, int(o), bytes(v), k, dict(h or {})) for o, k, v, h in rows
                ]
        found.sort(key=lambda m: m.offset)
        return found[:limit]

    async def commit(self, messages: Sequence[Delivered]) -> None:
        last: dict[str, int] = {}
        for message in messages:
            last[message.topic] = max(last.get(message.topic, 0), message.offset)
        if not last:
            return
        now = utcnow()
        rows = [
            {"group_id": self._group, "topic": t, "position": p, "updated_at": now}
            for t, p in last.items()
        ]
        async with transaction(self._log.engine) as connection:
            upsert = (
                pg_insert(offsets_table)
                if connection.dialect.name == "postgresql"
                else sqlite_insert(offsets_table)
            )
            statement = upsert.values(rows)
            # Never move a committed position backwards (a stale consumer committing late).
            statement = statement.on_conflict_do_update(
                index_elements=["group_id", "topic"],
                set_={
                    "position": func.max(offsets_table.c.position, statement.excluded.position)
                    if connection.dialect.name == "sqlite"
                    else func.greatest(offsets_table.c.position, statement.excluded.position),
                    "updated_at": statement.excluded.updated_at,
                },
            )
            await connection.execute(statement)

    async def close(self) -> None:
        self._positions = None
