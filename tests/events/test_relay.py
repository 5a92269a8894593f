"""The outbox relay: publishes committed rows, marks them, survives crashes, shares the work."""

import asyncio
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from riskops.auth.roles import Role
from riskops.auth.service import Principal
from riskops.core.background import finish
from riskops.db.base import table_of
from riskops.db.engine import create_engine
from riskops.db.types import utcnow
from riskops.decisions.requests import TransactionCreate
from riskops.events.bus import EventBus, Message
from riskops.events.embedded import EmbeddedLog
from riskops.events.envelope import ASSESSMENTS_TOPIC, TRANSACTIONS_TOPIC
from riskops.events.models import EventLogEntry, OutboxEvent
from riskops.events.relay import OutboxRelay
from riskops.runtime import Runtime
from tests.payments import payment

outbox = table_of(OutboxEvent)
event_log = table_of(EventLogEntry)
TESTER = Principal(key_id="tests", name="tests", role=Role.SERVICE)


class RelayKilled(Exception):
    """Stands in for the process dying."""


class DiesAfterPublish:
    """A bus whose process dies right after the broker acknowledged: before the mark."""

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self.name = bus.name

    async def publish(self, messages: list[Message]) -> None:
        await self.bus.publish(messages)
        raise RelayKilled

    def __getattr__(self, name: str) -> object:
        return getattr(self.bus, name)


async def decide(runtime: Runtime, count: int, prefix: str = "p") -> None:
    await asyncio.gather(
        *(
            runtime.pipeline.submit(
                TransactionCreate.model_validate(
                    payment(account_id=f"acct-{i % 7}", amount_minor=1_000 + i)
                ),
                f"{prefix}-{i}",
                TESTER,
            )
            for i in range(count)
        )
    )


async def counts(runtime: Runtime) -> tuple[int, int, int]:
    """(outbox rows, of them unpublished, event log entries)."""
    async with runtime.engine.connect() as connection:
        total = await connection.scalar(select(func.count()).select_from(outbox))
        pending = await connection.scalar(
            select(func.count()).where(outbox.c.published_at.is_(None))
        )
        logged = await connection.scalar(select(func.count()).select_from(event_log))
    return int(total or 0), int(pending or 0), int(logged or 0)


async def test_relay_publishes_each_committed_event_and_marks_it(runtime: Runtime) -> None:
    await decide(runtime, 10)
    assert await counts(runtime) == (20, 20, 0)
    relay = runtime.events.relay
    relay.batch_size = 7
    moved = [await relay.relay_once() for _ in range(4)]
    assert moved == [7, 7, 6, 0]
    assert await counts(runtime) == (20, 0, 20)
    async with runtime.engine.connect() as connection:
        logged = (await connection.execute(select(event_log.c.topic, event_log.c.key))).all()
        ids = set((await connection.execute(select(outbox.c.id))).scalars())
        values = (await connection.execute(select(event_log.c.value))).scalars().all()
    assert sorted(t for t, _ in logged) == [ASSESSMENTS_TOPIC] * 10 + [TRANSACTIONS_TOPIC] * 10
    assert {k for _, k in logged} == {f"acct-{i}" for i in range(7)}  # key = account id
    assert {v.split(b'"id":"')[1][:26].decode() for v in values} == ids


async def test_a_relay_killed_between_publish_and_mark_republishes(runtime: Runtime) -> None:
    await decide(runtime, 5)
    dying = OutboxRelay(runtime.engine, DiesAfterPublish(runtime.bus))  # type: ignore[arg-type]
    with pytest.raises(RelayKilled):
        await dying.relay_once()
    assert await counts(runtime) == (10, 10, 10)  # published, not marked
    assert await runtime.events.relay.relay_once() == 10
    assert await counts(runtime) == (10, 0, 20)  # every event at least once


async def test_cleanup_deletes_only_rows_sent_before_the_retention(runtime: Runtime) -> None:
    await decide(runtime, 3)
    relay = runtime.events.relay
    await relay.relay_once()
    assert await relay.cleanup() == 0
    await decide(runtime, 2, prefix="later")
    async with runtime.engine.begin() as connection:
        await connection.execute(
            update(outbox)
            .where(outbox.c.published_at.is_not(None))
            .values(published_at=utcnow() - relay.retention * 2)
        )
    assert await relay.cleanup() == 6
    assert await counts(runtime) == (4, 4, 6)
    relay.log_retention = timedelta(0)  # the embedded log's own retention
    await relay.cleanup()
    assert await counts(runtime) == (4, 4, 0)


async def test_the_relay_wakes_on_commit_not_on_its_poll(runtime: Runtime) -> None:
    relay = runtime.events.relay
    relay.poll_seconds = 30.0
    stopping = asyncio.Event()
    task = asyncio.create_task(relay.run(stopping))
    try:
        await asyncio.sleep(0.2)  # idle: waiting for a wake-up
        started = time.monotonic()
        await decide(runtime, 1)
        while (await counts(runtime))[2] < 2:
            assert time.monotonic() - started < 5, "the relay slept through a commit"
            await asyncio.sleep(0.01)
    finally:
        stopping.set()
        relay.notify()
        assert await finish([task], deadline=5) == []
    assert time.monotonic() - started < 2.0  # the poll fallback is 30 s


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_notify_wakes_a_relay_in_another_process(runtime: Runtime) -> None:
    # A second engine and relay stand for another process: it only learns of rows via NOTIFY.
    other = create_engine(runtime.engine.url.render_as_string(hide_password=False))
    relay = OutboxRelay(other, EmbeddedLog(other), poll_seconds=30.0)
    stopping = asyncio.Event()
    task = asyncio.create_task(relay.run(stopping))
    try:
        await asyncio.sleep(0.3)
        started = time.monotonic()
        await decide(runtime, 1)
        while (await counts(runtime))[2] < 2:
            assert time.monotonic() - started < 5, "NOTIFY did not wake the relay"
            await asyncio.sleep(0.01)
    finally:
        stopping.set()
        relay.notify()
        assert await finish([task], deadline=5) == []
        await other.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_concurrent_relays_share_the_outbox_without_double_publishing(
    runtime: Runtime,
) -> None:
    await decide(runtime, 150)
    relays = [OutboxRelay(runtime.engine, runtime.bus, batch_size=20) for _ in range(4)]

    async def drain(relay: OutboxRelay) -> None:
        while await relay.relay_once():
            await asyncio.sleep(0)

    await asyncio.gather(*(drain(r) for r in relays))
    assert await counts(runtime) == (300, 0, 300)  # each event exactly once
    assert sum(r.published for r in relays) == 300
    assert sum(1 for r in relays if r.published) > 1  # the work was actually shared
