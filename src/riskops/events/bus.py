"""The EventBus port: publish durably, consume by group with manual commits.

Two adapters pass the same contract tests: the embedded log (a table in our own database)
and Kafka (Apache Kafka, Redpanda, any Kafka-protocol broker) through confluent-kafka.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Message:
    """What a producer hands the bus: bytes with a partition key and string headers."""

    topic: str
    value: bytes
    key: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Delivered:
    """A message as a consumer receives it, with the position it came from."""

    topic: str
    partition: int
    offset: int
    value: bytes
    key: str | None
    headers: dict[str, str]


class Subscription(Protocol):
    async def poll(self, max_messages: int, wait_seconds: float) -> list[Delivered]:
        """The next messages after the group's position (waits up to `wait_seconds` for one)."""

    async def commit(self, messages: Sequence[Delivered]) -> None:
        """Record that `messages` (and all before them in their partitions) are processed."""

    async def close(self) -> None: ...


class EventBus(Protocol):
    name: str

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        """Create the topics that do not exist yet."""

    async def publish(self, messages: Sequence[Message]) -> None:
        """Return once every message is durable; raise Unavailable otherwise."""

    def subscribe(self, group: str, topics: Sequence[str]) -> Subscription: ...

    async def lag(self, group: str, topics: Sequence[str]) -> dict[str, int]:
        """Messages per topic that the group has not committed yet."""

    async def close(self) -> None: ...
