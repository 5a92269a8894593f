"""The event workers of one process: the outbox relay and the consumers, started together.

The embedded default runs them inside the API process; `riskops relay` and
`riskops consume NAME` run them one per process against Kafka.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from riskops.core.background import Background
from riskops.core.errors import BadRequest
from riskops.events import service
from riskops.events.bus import EventBus
from riskops.events.consumer import Consumer, ConsumerRunner, RetryPolicy, Validators
from riskops.events.relay import OutboxRelay
from riskops.settings import Settings

log = logging.getLogger(__name__)
GAUGE_REFRESH_SECONDS = 15.0
# A poll or a batch in flight finishes well within this; anything longer is cancelled.
STOP_DEADLINE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class ConsumerSpec:
    """A consumer group as its domain registers it: the topics it reads, how to build it.

    The composition root (riskops.runtime) fills the registry; events imports no domain.
    """

    topics: tuple[str, ...]
    build: Callable[[], Consumer]


ConsumerRegistry = Mapping[str, ConsumerSpec]


def build_consumer(name: str, registry: ConsumerRegistry) -> Consumer:
    spec = registry.get(name)
    if spec is None:
        raise BadRequest(
            f"no consumer named {name!r}", {"consumer": name, "known": sorted(registry)}
        )
    return spec.build()


class EventWorkers:
    def __init__(
        self,
        engine: AsyncEngine,
        bus: EventBus,
        relay: OutboxRelay,
        runners: Sequence[ConsumerRunner],
        registry: ConsumerRegistry | None = None,
    ) -> None:
        self.engine = engine
        self.bus = bus
        self.relay = relay
        self.runners = list(runners)
        self.registry = registry or {}  # every known consumer, run here or elsewhere
        self._background: Background | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        engine: AsyncEngine,
        bus: EventBus,
        registry: ConsumerRegistry,
        validators: Validators,
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
                build_consumer(name, registry),
                policy,
                validators,
                batch_max=settings.consumer_batch_max,
            )
            for name in names
        ]
        return cls(engine, bus, relay, runners, registry)

    @property
    def running(self) -> bool:
        return self._background is not None and self._background.running

    def start(self, *, relay: bool = True) -> None:
        background = self._background = Background("events")
        for runner in self.runners:
            background.spawn(runner.run(background.stopping), f"consumer.{runner.group}")
        if relay:
            background.spawn(self.relay.run(background.stopping), "relay")
        background.spawn(self._refresh_gauges(background), "gauges")

    async def stop(self, deadline: float = STOP_DEADLINE_SECONDS) -> list[str]:
        """Stop every worker within `deadline` seconds (then cancel); whatever was not
        committed is redelivered on the next start. Returns the workers that would not stop."""
        background, self._background = self._background, None
        if background is None:
            return []
        background.stopping.set()
        self.relay.notify()  # wake the relay from its wait at once
        return await background.stop(deadline)

    def consumer_topics(self) -> Mapping[str, Sequence[str]]:
        return {r.consumer.name: r.consumer.topics for r in self.runners}

    async def status(self) -> dict[str, Any]:
        return await service.status(
            self.engine,
            self.bus,
            self.consumer_topics() or {n: s.topics for n, s in self.registry.items()},
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

    async def _refresh_gauges(self, background: Background) -> None:
        while not await background.sleep(GAUGE_REFRESH_SECONDS):
            try:
                await self.status()
            except Exception as error:  # metrics must never take the workers down
                log.warning("refreshing event metrics failed: %s", error)
