"""The event workers of one process: the outbox relay and the consumers, started together.

The embedded default runs them inside the API process; `riskops relay` and
`riskops consume NAME` run them one per process against Kafka.
"""

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from riskops.analytics.tasks import AnalyticsConsumer
from riskops.core.errors import BadRequest
from riskops.decisions.pipeline import DecisionPipeline
from riskops.events import service
from riskops.events.bus import EventBus
from riskops.events.consumer import Consumer, ConsumerRunner, RetryPolicy
from riskops.events.relay import OutboxRelay
from riskops.events.tasks import RiskConsumer
from riskops.labels.service import LabelService
from riskops.labels.tasks import LabelsConsumer
from riskops.settings import Settings

log = logging.getLogger(__name__)
CONSUMER_TOPICS: dict[str, tuple[str, ...]] = {
    c.name: c.topics for c in (RiskConsumer, LabelsConsumer, AnalyticsConsumer)
}
GAUGE_REFRESH_SECONDS = 15.0


def build_consumer(
    name: str, engine: AsyncEngine, pipeline: DecisionPipeline, labels: LabelService
) -> Consumer:
    if name == "risk":
        return RiskConsumer(pipeline)
    if name == "labels":
        return LabelsConsumer(engine, labels)
    if name == "analytics":
        return AnalyticsConsumer(engine)
    raise BadRequest(
        f"no consumer named {name!r}", {"consumer": name, "known": sorted(CONSUMER_TOPICS)}
    )


class EventWorkers:
    def __init__(
        self,
        engine: AsyncEngine,
        bus: EventBus,
        relay: OutboxRelay,
        runners: Sequence[ConsumerRunner],
    ) -> None:
        self.engine = engine
        self.bus = bus
        self.relay = relay
        self.runners = list(runners)
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        engine: AsyncEngine,
        bus: EventBus,
        pipeline: DecisionPipeline,
        labels: LabelService,
        consumers: Sequence[str] | None = None,
    ) -> "EventWorkers":
        relay = OutboxRelay(
            engine,
            bus,
            batch_size=settings.relay_batch_size,
            poll_seconds=settings.relay_poll.total_seconds(),
            retention=settings.outbox_retention,
            log_retention=settings.event_log_retention,
        )
        policy = RetryPolicy(
            settings.consumer_max_attempts,
            settings.consumer_retry_base.total_seconds(),
            settings.consumer_retry_max.total_seconds(),
        )
        names = settings.consumers if consumers is None else consumers
        runners = [
            ConsumerRunner(
                bus,
                build_consumer(name, engine, pipeline, labels),
                policy,
                batch_max=settings.consumer_batch_max,
            )
            for name in names
        ]
        return cls(engine, bus, relay, runners)

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    def start(self, *, relay: bool = True) -> None:
        jobs = [runner.run() for runner in self.runners]
        if relay:
            jobs.append(self.relay.run())
        jobs.append(self._refresh_gauges())
        self._tasks = [asyncio.create_task(job) for job in jobs]

    async def stop(self) -> None:
        """Stop every worker; whatever was not committed is redelivered on the next start."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def consumer_topics(self) -> Mapping[str, Sequence[str]]:
        return {r.consumer.name: r.consumer.topics for r in self.runners}

    async def status(self) -> dict[str, Any]:
        return await service.status(
            self.engine, self.bus, self.consumer_topics() or CONSUMER_TOPICS
        )

    async def drain(self, within: float = 30.0) -> None:
        """Wait until the outbox is empty and every consumer has committed all it was sent."""
        deadline = time.monotonic() + within
        self.relay.notify()
        while True:
            backlog, _ = await service.outbox_backlog(self.engine)
            lags = [await self.bus.lag(r.group, r.consumer.topics) for r in self.runners]
            if backlog == 0 and not any(sum(lag.values()) for lag in lags):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"events not drained: outbox {backlog}, lag {lags}")
            await asyncio.sleep(0.02)

    async def _refresh_gauges(self) -> None:
        while True:
            await asyncio.sleep(GAUGE_REFRESH_SECONDS)
            try:
                await self.status()
            except Exception as error:  # metrics must never take the workers down
                log.warning("refreshing event metrics failed: %s", error)
