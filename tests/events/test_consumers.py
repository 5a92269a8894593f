"""Consumers: retries, dead letters, replay, poison messages and crashes, on the real runtime."""

import asyncio
from typing import ClassVar

import orjson
import pytest
from sqlalchemy import select

from riskops.analytics import service as analytics
from riskops.contracts import validators
from riskops.db.base import table_of
from riskops.decisions import repository as decisions
from riskops.decisions.requests import TransactionCreate
from riskops.events import service
from riskops.events.bus import EventBus, Message
from riskops.events.consumer import Consumer, ConsumerRunner, Incoming, RetryPolicy
from riskops.events.envelope import (
    ASSESSMENTS_TOPIC,
    LABELS_TOPIC,
    TRANSACTION_LABELLED,
    dlq_topic,
)
from riskops.events.relay import OutboxRelay
from riskops.events.workers import build_consumer
from riskops.labels.models import Label
from riskops.runtime import Runtime
from tests.events.support import as_message, event, poll_until
from tests.events.test_relay import TESTER, DiesAfterPublish, RelayKilled, decide
from tests.payments import payment

labels = table_of(Label)
FAST = RetryPolicy(max_attempts=3, base_seconds=0.01, max_seconds=0.05)


def runner(runtime: Runtime, name: str, policy: RetryPolicy = FAST) -> ConsumerRunner:
    consumer = build_consumer(name, runtime.consumers)
    return ConsumerRunner(
        runtime.bus, consumer, policy, validators(), batch_max=100, poll_seconds=0.2
    )


async def run_until_idle(*runners: ConsumerRunner) -> None:
    """Consume until nothing more arrives (a broker's group join takes seconds at first)."""
    for r in runners:
        quiet_for = 0.5 if r.bus.name == "embedded" else 8.0
        quiet_since = asyncio.get_running_loop().time()
        while asyncio.get_running_loop().time() - quiet_since < quiet_for:
            if await r.run_once():
                quiet_since = asyncio.get_running_loop().time()


def label_event(**data: object) -> dict[str, object]:
    body = {"label": 1, "source": "chargeback", "labelled_at": "2026-11-22T03:10:00+00:00", **data}
    return event(TRANSACTION_LABELLED, body)


async def stored_labels(runtime: Runtime) -> list[tuple[str, int, str]]:
    async with runtime.engine.connect() as connection:
        rows = await connection.execute(
            select(labels.c.transaction_id, labels.c.label, labels.c.source)
        )
        return sorted((t, int(v), s) for t, v, s in rows)


async def dead_letters(bus: EventBus, topic: str, count: int) -> list[Message]:
    subscription = bus.subscribe("tests-dlq-reader", [dlq_topic(topic)])
    try:
        found = await poll_until(subscription, count, within=20)
    finally:
        await subscription.close()
    return [Message(m.topic, m.value, m.key, m.headers) for m in found]


async def transaction_ids(runtime: Runtime) -> list[str]:
    async with runtime.engine.connect() as connection:
        page, _ = await decisions.list_transactions(
            connection, decisions.TransactionFilter(), 500, None
        )
    return [t["id"] for t in page]


async def test_labels_are_stored_once_however_often_delivered(runtime: Runtime) -> None:
    await decide(runtime, 2)
    first, second = await transaction_ids(runtime)
    one = label_event(transaction_id=first)
    await runtime.bus.publish(
        [
            as_message(LABELS_TOPIC, "a", one),
            as_message(LABELS_TOPIC, "a", one),  # redelivered by an upstream retry
            as_message(
                LABELS_TOPIC, "b", label_event(transaction_id=second, label=0, source="analyst")
            ),
        ]
    )
    labeller = runner(runtime, "labels")
    await run_until_idle(labeller)
    assert await stored_labels(runtime) == sorted(
        [(first, 1, "chargeback"), (second, 0, "analyst")]
    )
    assert labeller.dead_lettered == 0


async def test_dead_letter_then_replay_round_trip(flow_runtime: Runtime) -> None:
    await decide(flow_runtime, 1)
    # A label for a payment that was submitted on the stream but is not decided yet.
    pending = label_event(account_id="acct-late", idempotency_key="evt-late")
    await flow_runtime.bus.publish([as_message(LABELS_TOPIC, "acct-late", pending)])
    labeller = runner(flow_runtime, "labels")
    await run_until_idle(labeller)
    assert labeller.dead_lettered == 1 and await stored_labels(flow_runtime) == []
    [dead] = await dead_letters(flow_runtime.bus, LABELS_TOPIC, 1)
    assert orjson.loads(dead.value) == pending  # the original message, untouched
    assert dead.headers["dlq.attempts"] == "3"
    assert dead.headers["dlq.error_type"] == "LabelTargetPending"
    assert dead.headers["dlq.original_topic"] == LABELS_TOPIC
    assert dead.headers["content-type"] == "application/cloudevents+json"  # original headers kept
    status = await service.status(
        flow_runtime.engine, flow_runtime.bus, {"labels": (LABELS_TOPIC,)}
    )
    assert status["dead_letters"] == {dlq_topic(LABELS_TOPIC): 1}

    # The payment arrives; re-driving the dead letter now stores the label.
    stored = await flow_runtime.pipeline.submit(
        TransactionCreate.model_validate(payment(account_id="acct-late")), "evt-late", TESTER
    )
    assert await service.replay(flow_runtime.bus, dlq_topic(LABELS_TOPIC)) == 1
    assert await service.replay(flow_runtime.bus, dlq_topic(LABELS_TOPIC)) == 0  # replayed once
    await run_until_idle(labeller)
    assert await stored_labels(flow_runtime) == [(stored.document["id"], 1, "chargeback")]
    status = await service.status(
        flow_runtime.engine, flow_runtime.bus, {"labels": (LABELS_TOPIC,)}
    )
    assert status["dead_letters"] == {dlq_topic(LABELS_TOPIC): 0}


async def test_poison_messages_go_to_the_dlq_at_once_and_block_nothing(runtime: Runtime) -> None:
    await decide(runtime, 1)
    [txn] = await transaction_ids(runtime)
    await runtime.bus.publish(
        [
            Message(LABELS_TOPIC, b"{not json", "k"),
            as_message(LABELS_TOPIC, "k", label_event(transaction_id=txn, label=7)),  # schema
            as_message(LABELS_TOPIC, "k", event("riskops.unknown.v1", {})),
            as_message(LABELS_TOPIC, "k", label_event(transaction_id=txn)),
        ]
    )
    labeller = runner(runtime, "labels", RetryPolicy(max_attempts=50, base_seconds=5))
    started = asyncio.get_running_loop().time()
    await run_until_idle(labeller)
    assert asyncio.get_running_loop().time() - started < 3  # no retry backoff was spent
    assert await stored_labels(runtime) == [(txn, 1, "chargeback")]
    dead = await dead_letters(runtime.bus, LABELS_TOPIC, 3)
    assert [d.headers["dlq.attempts"] for d in dead] == ["1", "1", "1"]
    assert "not JSON" in dead[0].headers["dlq.error"]
    assert "schema violation at data/label" in dead[1].headers["dlq.error"]
    assert "unexpected event type" in dead[2].headers["dlq.error"]


class Flaky(Consumer):
    """A consumer whose store fails transiently a few times (a database failover, say)."""

    name = "flaky"
    topics = (LABELS_TOPIC,)
    accepts: ClassVar[frozenset[str]] = frozenset({TRANSACTION_LABELLED})

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[float] = []
        self.applied: list[str] = []

    async def handle(self, item: Incoming) -> None:
        self.calls.append(asyncio.get_running_loop().time())
        if len(self.calls) <= self.failures:
            raise ConnectionError("database unavailable")
        self.applied.append(item.id)


async def test_transient_failures_are_retried_with_growing_backoff(runtime: Runtime) -> None:
    body = label_event(transaction_id="t-1")
    await runtime.bus.publish([as_message(LABELS_TOPIC, "k", body)])
    flaky = Flaky(failures=3)
    policy = RetryPolicy(max_attempts=5, base_seconds=0.05, max_seconds=1.0)
    r = ConsumerRunner(runtime.bus, flaky, policy, validators(), poll_seconds=0.2)
    await run_until_idle(r)
    assert flaky.applied == [body["id"]] and r.dead_lettered == 0
    gaps = [b - a for a, b in zip(flaky.calls, flaky.calls[1:], strict=False)]
    # Attempt n waits between half and all of 0.05 * 2**(n-1): jittered, growing.
    for n, gap in enumerate(gaps, start=1):
        assert 0.05 * 2 ** (n - 1) * 0.5 <= gap <= 0.05 * 2 ** (n - 1) + 0.5


async def test_a_consumer_killed_mid_batch_resumes_without_lost_or_doubled_effects(
    flow_runtime: Runtime,
) -> None:
    await decide(flow_runtime, 40)
    await flow_runtime.events.relay.relay_once()
    await flow_runtime.events.relay.relay_once()
    crashed = runner(flow_runtime, "analytics")
    crashed.batch_max = 25
    subscription = flow_runtime.bus.subscribe("analytics", [ASSESSMENTS_TOPIC])
    batch = await poll_until(subscription, 25)
    # Half the batch's effects committed and its offsets too; the rest applied, never committed.
    await crashed.process(batch[:10])
    await subscription.commit(batch[:10])
    await crashed.process(batch[10:])
    await subscription.close()  # the process dies here

    resumed = runner(flow_runtime, "analytics")
    await run_until_idle(resumed)
    async with flow_runtime.engine.connect() as connection:
        stats = await analytics.stats(connection)
        scanned = await decisions.stats(connection)
    assert stats["total"] == scanned["total"] == 40
    assert (stats["approved"], stats["review"], stats["declined"]) == (
        scanned["approved"],
        scanned["review"],
        scanned["declined"],
    )
    assert stats["avg_amount"] == scanned["avg_amount"]
    assert resumed.processed == 30  # it re-read the 15 uncommitted: counted once anyway


async def test_relay_killed_after_publish_still_counts_each_decision_once(
    flow_runtime: Runtime,
) -> None:
    await decide(flow_runtime, 12)
    dying = OutboxRelay(flow_runtime.engine, DiesAfterPublish(flow_runtime.bus))  # type: ignore[arg-type]
    with pytest.raises(RelayKilled):
        await dying.relay_once()
    await flow_runtime.events.relay.relay_once()  # publishes all 24 events again
    a = runner(flow_runtime, "analytics")
    await run_until_idle(a)
    async with flow_runtime.engine.connect() as connection:
        assert (await analytics.stats(connection))["total"] == 12
    assert a.processed == 24  # every assessment delivered twice, counted once
