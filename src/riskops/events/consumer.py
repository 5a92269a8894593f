"""Consumers: at-least-once delivery, retries with backoff and jitter, dead letters.

A consumer's effects are exactly-once because each records the processed event id in the same
database transaction as its effects; redelivery after a crash then changes nothing. Offsets
are committed only after a whole batch is handled (or dead-lettered).
"""

import asyncio
import logging
import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson

from riskops.core.background import wait_event
from riskops.core.errors import RiskOpsError
from riskops.db.types import utcnow
from riskops.events.bus import Delivered, EventBus, Message, Subscription
from riskops.events.envelope import dlq_topic
from riskops.observability import tracing

log = logging.getLogger(__name__)
# Per event type: None for a valid event, else the first violation. The composition root
# passes the validators generated from the domains' event models (riskops.contracts).
Validators = Mapping[str, Callable[[Any], str | None]]


class PoisonMessage(RiskOpsError):
    """Not an event this consumer can ever handle: dead-lettered at once, never retried."""

    status_code = 422
    code = "poison_message"


@dataclass(frozen=True, slots=True)
class Incoming:
    event: dict[str, Any]
    message: Delivered

    @property
    def id(self) -> str:
        return str(self.event["id"])

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = self.event["data"]
        return data


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    base_seconds: float = 0.2
    max_seconds: float = 10.0

    def delay(self, attempt: int) -> float:
        """Exponential backoff with jitter: a crowd of failing consumers does not retry in step."""
        ceiling = min(self.max_seconds, self.base_seconds * 2.0 ** (attempt - 1))
        return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret


def is_permanent(error: BaseException) -> bool:
    # Our client-side errors (validation, conflicts) will fail the same way every time.
    return isinstance(error, RiskOpsError) and error.status_code < 500


class Consumer(ABC):
    name: ClassVar[str]
    topics: ClassVar[tuple[str, ...]]
    accepts: ClassVar[frozenset[str]]  # event types; anything else is poison

    @abstractmethod
    async def handle(self, item: Incoming) -> None:
        """Apply one event's effects, recording its id in the same transaction."""

    async def handle_batch(self, items: Sequence[Incoming]) -> list[BaseException | None]:
        """Apply a batch; one outcome per item. Override to share a transaction."""
        outcomes: list[BaseException | None] = []
        for item in items:
            try:
                await self.handle(item)
                outcomes.append(None)
            except Exception as error:  # the runner retries or dead-letters it
                outcomes.append(error)
        return outcomes


def decode(message: Delivered, accepts: frozenset[str], validators: Validators) -> Incoming:
    """Parse and validate a CloudEvent against its type's schema, or raise PoisonMessage."""
    try:
        event = orjson.loads(message.value)
    except orjson.JSONDecodeError as error:
        raise PoisonMessage(f"not JSON: {error}") from error
    if not isinstance(event, dict):
        raise PoisonMessage("not a CloudEvent: the message is not a JSON object")
    event_type = event.get("type")
    if event_type not in accepts:
        raise PoisonMessage(f"unexpected event type {event_type!r}", {"accepts": sorted(accepts)})
    violation = validators[event_type](event)
    if violation is not None:
        raise PoisonMessage(f"schema violation at {violation}")
    return Incoming(event, message)


class ConsumerRunner:
    """Polls a consumer's topics, applies batches, retries, dead-letters, commits."""

    def __init__(
        self,
        bus: EventBus,
        consumer: Consumer,
        policy: RetryPolicy,
        validators: Validators,
        *,
        batch_max: int = 500,
        poll_seconds: float = 1.0,
    ) -> None:
        self.bus = bus
        self.consumer = consumer
        self.policy = policy
        self.validators = validators
        self.batch_max = batch_max
        self.poll_seconds = poll_seconds
        self.processed = 0
        self.dead_lettered = 0
        self._subscription: Subscription | None = None

    @property
    def group(self) -> str:
        return self.consumer.name

    async def run(self, stopping: asyncio.Event) -> None:
        """Consume until `stopping` is set. A crash before commit means redelivery, never loss."""
        try:
            while not stopping.is_set():
                try:
                    await self.run_once()
                except RiskOpsError as error:  # the bus is unreachable: wait and try again
                    log.warning("consumer %s: %s", self.group, error.message)
                    await wait_event(stopping, self.policy.delay(2))
        finally:
            await self.close()

    async def run_once(self) -> int:
        if self._subscription is None:
            await self.bus.ensure_topics(
                [*self.consumer.topics, *(dlq_topic(t) for t in self.consumer.topics)]
            )
            self._subscription = self.bus.subscribe(self.group, self.consumer.topics)
        batch = await self._subscription.poll(self.batch_max, self.poll_seconds)
        if not batch:
            return 0
        await self.process(batch)
        await self._subscription.commit(batch)
        return len(batch)

    async def process(self, batch: Sequence[Delivered]) -> None:
        items: list[Incoming] = []
        for message in batch:
            try:
                items.append(decode(message, self.consumer.accepts, self.validators))
            except PoisonMessage as error:
                await self.dead_letter(message, error, attempts=1)
        # Each event's handling joins the trace of the request that wrote it.
        spans = tracing.start_spans(
            f"riskops.consume {self.group}",
            [item.event.get("traceparent") for item in items],
            **{"messaging.consumer.group.name": self.group},
        )
        try:
            outcomes = await self.consumer.handle_batch(items) if items else []
        finally:
            tracing.end_spans(spans)
        for item, outcome in zip(items, outcomes, strict=True):
            if outcome is None:
                self.processed += 1
            else:
                await self._retry(item, outcome)

    async def _retry(self, item: Incoming, error: BaseException) -> None:
        attempt = 1
        while not is_permanent(error) and attempt < self.policy.max_attempts:
            await asyncio.sleep(self.policy.delay(attempt))
            attempt += 1
            try:
                await self.consumer.handle(item)
            except Exception as again:  # retried or dead-lettered below
                error = again
                continue
            self.processed += 1
            return
        await self.dead_letter(item.message, error, attempts=attempt)

    async def dead_letter(self, message: Delivered, error: BaseException, attempts: int) -> None:
        log.warning(
            "consumer %s: %s@%s dead-lettered after %d attempt(s): %s",
            self.group,
            message.topic,
            message.offset,
            attempts,
            error,
        )
        headers = {
            **message.headers,
            "dlq.consumer": self.group,
            "dlq.original_topic": message.topic,
            "dlq.original_partition": str(message.partition),
            "dlq.original_offset": str(message.offset),
            "dlq.error_type": type(error).__name__,
            "dlq.error": str(error)[:1000],
            "dlq.attempts": str(attempts),
            "dlq.failed_at": utcnow().isoformat(),
        }
        await self.bus.publish(
            [Message(dlq_topic(message.topic), message.value, message.key, headers)]
        )
        self.dead_lettered += 1

    async def close(self) -> None:
        if self._subscription is not None:
            subscription, self._subscription = self._subscription, None
            await subscription.close()
