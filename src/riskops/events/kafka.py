"""The Kafka adapter (Apache Kafka, Redpanda, any Kafka-protocol broker) via confluent-kafka.

The producer is idempotent with acks=all: `publish` returns only after every message is
acknowledged by the in-sync replicas. Consumers commit offsets by hand after processing.
librdkafka calls block, so each client runs them on its own single thread.
"""

import asyncio
import concurrent.futures
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka import Message as KafkaMessage
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from riskops.core.errors import Unavailable
from riskops.events.bus import Delivered, Message

T = TypeVar("T")


class _Thread:
    """One thread per librdkafka client: its calls are blocking and not meant to overlap."""

    def __init__(self, name: str) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=name)

    async def run(self, call: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)


class KafkaBus:
    name = "kafka"

    def __init__(
        self,
        bootstrap: str,
        *,
        partitions: int = 6,
        replication: int = 1,
        session_timeout_ms: int = 10_000,
        publish_timeout: float = 30.0,
    ) -> None:
        self._bootstrap = bootstrap
        self._partitions = partitions
        self._replication = replication
        self._session_timeout_ms = session_timeout_ms
        self._publish_timeout = publish_timeout
        self._producer: Producer | None = None
        self._thread = _Thread("kafka-producer")
        self._known: set[str] = set()

    def _producer_client(self) -> Producer:
        if self._producer is None:
            self._producer = Producer(
                {
                    "bootstrap.servers": self._bootstrap,
                    "enable.idempotence": True,
                    "acks": "all",
                    "linger.ms": 2,
                    "compression.type": "lz4",
                    "message.timeout.ms": int(self._publish_timeout * 1000),
                }
            )
        return self._producer

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        missing = [t for t in topics if t not in self._known]
        if not missing:
            return

        def create() -> None:
            admin = AdminClient({"bootstrap.servers": self._bootstrap})
            futures = admin.create_topics(
                [NewTopic(t, self._partitions, self._replication) for t in missing],
                operation_timeout=10,
            )
            for future in futures.values():
                try:
                    future.result(timeout=15)
                except KafkaException as error:
                    if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                        raise

        try:
            await self._thread.run(create)
        except KafkaException as error:
            raise Unavailable(f"the broker could not create topics {missing}: {error}") from error
        self._known.update(missing)

    async def publish(self, messages: Sequence[Message]) -> None:
        if not messages:
            return
        await self.ensure_topics(sorted({m.topic for m in messages}))
        errors: list[str] = []

        def produce() -> int:
            producer = self._producer_client()

            def delivered(error: KafkaError | None, _message: KafkaMessage) -> None:
                if error is not None:
                    errors.append(str(error))

            for m in messages:
                while True:
                    try:
                        producer.produce(
                            m.topic,
                            m.value,
                            m.key.encode() if m.key is not None else None,
                            headers=[(k, v.encode()) for k, v in m.headers.items()],
                            on_delivery=delivered,
                        )
                        break
                    except BufferError:  # the local queue is full: let it drain
                        producer.poll(0.05)
            return int(producer.flush(self._publish_timeout))

        try:
            left = await self._thread.run(produce)
        except KafkaException as error:
            errors.append(str(error))
            left = 0
        if errors or left:
            # Start afresh next time: the broker may have lost its state (topics, producer ids)
            # and an idempotent producer that saw a fatal error cannot be used again.
            self._known.clear()
            self._discard_producer()
            raise Unavailable(
                f"the broker did not acknowledge {len(errors) + left} of {len(messages)} messages",
                {"errors": errors[:5]},
            )

    def _discard_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            producer.purge()  # undelivered messages stay in the outbox, unmarked

    def subscribe(self, group: str, topics: Sequence[str]) -> "KafkaSubscription":
        return KafkaSubscription(self, group, list(topics))

    def consumer_config(self, group: str) -> dict[str, Any]:
        return {
            "bootstrap.servers": self._bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": self._session_timeout_ms,
            "heartbeat.interval.ms": max(self._session_timeout_ms // 4, 100),
        }

    async def lag(self, group: str, topics: Sequence[str]) -> dict[str, int]:
        """Per topic: end offsets minus committed offsets. Note: Tansu reports a partition's
        end as its last batch's base offset + 1, so there lag is a lower bound."""

        def measure() -> dict[str, int]:
            client = Consumer(self.consumer_config(group))
            try:
                result: dict[str, int] = {}
                metadata = client.list_topics(timeout=5)
                for topic in topics:
                    described = metadata.topics.get(topic)
                    if described is None or described.error is not None:
                        result[topic] = 0
                        continue
                    parts = [TopicPartition(topic, p) for p in described.partitions]
                    committed = client.committed(parts, timeout=5)
                    total = 0
                    for part in committed:
                        low, high = client.get_watermark_offsets(
                            TopicPartition(topic, part.partition), timeout=5
                        )
                        position = part.offset if part.offset >= 0 else low
                        total += max(high - position, 0)
                    result[topic] = total
                return result
            finally:
                client.close()

        thread = _Thread("kafka-lag")
        try:
            return await thread.run(measure)
        except KafkaException as error:
            raise Unavailable(f"the broker did not report lag: {error}") from error
        finally:
            thread.shutdown()

    async def close(self) -> None:
        if self._producer is not None:
            producer = self._producer
            await self._thread.run(lambda: producer.flush(self._publish_timeout))
            self._producer = None
        self._thread.shutdown()


class KafkaSubscription:
    def __init__(self, bus: KafkaBus, group: str, topics: list[str]) -> None:
        self._bus = bus
        self._topics = topics
        self._group = group
        self._consumer: Consumer | None = None
        self._thread = _Thread(f"kafka-{group}")

    async def _client(self) -> Consumer:
        if self._consumer is None:
            await self._bus.ensure_topics(self._topics)

            def open_consumer() -> Consumer:
                consumer = Consumer(self._bus.consumer_config(self._group))
                consumer.subscribe(self._topics)
                return consumer

            self._consumer = await self._thread.run(open_consumer)
        return self._consumer

    async def poll(self, max_messages: int, wait_seconds: float) -> list[Delivered]:
        consumer = await self._client()

        def consume() -> list[Delivered]:
            found: list[Delivered] = []
            for m in consumer.consume(max_messages, wait_seconds):
                error = m.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        continue
                    raise KafkaException(error)
                key = m.key()
                found.append(
                    Delivered(
                        topic=str(m.topic()),
                        partition=int(m.partition() or 0),
                        offset=int(m.offset() or 0),
                        value=bytes(m.value() or b""),
                        key=key.decode() if isinstance(key, bytes) else key,
                        headers=_headers(m.headers()),
                    )
                )
            return found

        try:
            return await self._thread.run(consume)
        except KafkaException as error:
            raise Unavailable(f"consuming {self._topics} failed: {error}") from error

    async def commit(self, messages: Sequence[Delivered]) -> None:
        if not messages or self._consumer is None:
            return
        last: dict[tuple[str, int], int] = {}
        for m in messages:
            last[(m.topic, m.partition)] = max(last.get((m.topic, m.partition), -1), m.offset)
        # Kafka commits the next offset to read, hence + 1.
        offsets = [TopicPartition(t, p, o + 1) for (t, p), o in last.items()]
        consumer = self._consumer
        try:
            await self._thread.run(lambda: consumer.commit(offsets=offsets, asynchronous=False))
        except KafkaException as error:
            raise Unavailable(f"committing offsets of {self._group} failed: {error}") from error

    async def close(self) -> None:
        if self._consumer is not None:
            consumer = self._consumer
            self._consumer = None
            await self._thread.run(consumer.close)
        self._thread.shutdown()


def _headers(raw: Any) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in raw or []:
        if isinstance(value, bytes):
            headers[str(name)] = value.decode(errors="replace")
    return headers
