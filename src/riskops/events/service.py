"""Operating the event path: backlog and lag, dead-letter replay, reading a topic."""

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from prometheus_client import Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from riskops.core.errors import BadRequest, RiskOpsError
from riskops.core.ids import new_id
from riskops.db.base import table_of
from riskops.events.bus import Delivered, EventBus, Message
from riskops.events.envelope import dlq_topic
from riskops.events.models import OutboxEvent

outbox = table_of(OutboxEvent)
REPLAY_GROUP = "riskops-replay"  # dead letters this group has not committed are still waiting

OUTBOX_BACKLOG = Gauge("riskops_outbox_backlog", "Outbox rows not yet published")
CONSUMER_LAG = Gauge("riskops_consumer_lag", "Messages not yet committed", ["consumer", "topic"])
DLQ_WAITING = Gauge("riskops_dlq_waiting", "Dead letters not yet replayed", ["topic"])


async def outbox_backlog(engine: AsyncEngine) -> tuple[int, datetime | None]:
    async with engine.connect() as connection:
        count, oldest = (
            await connection.execute(
                select(func.count(), func.min(outbox.c.created_at)).where(
                    outbox.c.published_at.is_(None)
                )
            )
        ).one()
    if isinstance(oldest, str):  # SQLite aggregates bypass the column type
        oldest = datetime.fromisoformat(oldest + "+00:00")
    return int(count or 0), oldest


async def status(
    engine: AsyncEngine, bus: EventBus, consumers: Mapping[str, Sequence[str]]
) -> dict[str, Any]:
    """Outbox backlog, lag per consumer and topic, dead letters waiting; updates the gauges."""
    backlog, oldest = await outbox_backlog(engine)
    OUTBOX_BACKLOG.set(backlog)
    lags = []
    dead: dict[str, int] = {}
    bus_error = None
    try:
        for name, topics in consumers.items():
            lag = await bus.lag(name, topics)
            for topic, value in lag.items():
                CONSUMER_LAG.labels(name, topic).set(value)
            lags.append({"consumer": name, "lag": lag, "total_lag": sum(lag.values())})
            waiting = await bus.lag(REPLAY_GROUP, [dlq_topic(t) for t in topics])
            for topic, value in waiting.items():
                DLQ_WAITING.labels(topic).set(value)
                dead[topic] = value
    except RiskOpsError as error:  # a broker outage is exactly when the backlog matters
        bus_error = error.message
    return {
        "bus": bus.name,
        "bus_error": bus_error,
        "outbox_backlog": backlog,
        "oldest_unpublished_at": oldest,
        "consumers": lags,
        "dead_letters": dead,
    }


async def replay(bus: EventBus, topic: str, limit: int | None = None) -> int:
    """Re-drive dead letters of `topic` (a `.dlq` topic) to where they failed; returns how many."""
    if not topic.endswith(".dlq"):
        raise BadRequest(f"{topic} is not a dead-letter topic (they end in .dlq)", {"topic": topic})
    subscription = bus.subscribe(REPLAY_GROUP, [topic])
    moved = 0
    try:
        while limit is None or moved < limit:
            wait = first_wait(bus) if moved == 0 else 1.0
            batch = await subscription.poll(min(500, limit - moved) if limit else 500, wait)
            if not batch:
                break
            await bus.publish([_redrive(m, topic) for m in batch])
            await subscription.commit(batch)
            moved += len(batch)
    finally:
        await subscription.close()
    return moved


def first_wait(bus: EventBus) -> float:
    # A new Kafka group member takes seconds to join and get partitions assigned.
    return 1.0 if bus.name == "embedded" else 15.0


def _redrive(message: Delivered, dlq: str) -> Message:
    original = message.headers.get("dlq.original_topic") or dlq.removesuffix(".dlq")
    headers = {k: v for k, v in message.headers.items() if not k.startswith("dlq.")}
    headers["riskops.replays"] = str(int(message.headers.get("riskops.replays", "0")) + 1)
    return Message(original, message.value, message.key, headers)


async def tail(bus: EventBus, topic: str, limit: int, follow: bool) -> AsyncIterator[Delivered]:
    """Messages of `topic` from the beginning, read by a throwaway group that never commits."""
    subscription = bus.subscribe(f"riskops-tail-{new_id()}", [topic])
    seen = 0
    try:
        while seen < limit:
            batch = await subscription.poll(
                min(500, limit - seen), first_wait(bus) if not seen else 1.0
            )
            if not batch and not follow:
                return
            for message in batch:
                yield message
            seen += len(batch)
    finally:
        with contextlib.suppress(Exception):
            await subscription.close()
