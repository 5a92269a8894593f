"""Drive synthetic payments at a rate, to the HTTP API or straight to the inbound stream.

Labels follow on `labels.v1` after each payment's delay: by transaction id when the API
answered, by account and event id (the idempotency key) when the payment went to the stream.
"""

import asyncio
import heapq
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import httpx
import orjson

from riskops.core.errors import BadRequest, Unavailable
from riskops.db.types import utcnow
from riskops.events.bus import EventBus, Message
from riskops.events.envelope import (
    INBOUND_TOPIC,
    LABELS_TOPIC,
    TRANSACTION_LABELLED,
    TRANSACTION_SUBMITTED,
    cloud_event,
    encode,
    headers_for,
)
from riskops.simulation.generator import SimulatedPayment, Simulator

SOURCE = "/riskops/simulate"
TICK_SECONDS = 0.05
HTTP_CONCURRENCY = 64

Target = Literal["http", "stream"]


@dataclass
class SimulationReport:
    sent: int = 0
    failed: int = 0
    labels: int = 0
    fraud: int = 0
    scenarios: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)


async def paced(
    simulator: Simulator, rate: float, duration: float
) -> AsyncIterator[list[SimulatedPayment]]:
    """Batches of payments on a wall-clock schedule of `rate` per second for `duration` s."""
    total = int(rate * duration)
    started = time.monotonic()
    sent = 0
    while sent < total:
        due = min(total, int((time.monotonic() - started) * rate) + 1)
        if due > sent:
            yield [simulator.next() for _ in range(due - sent)]
            sent = due
        await asyncio.sleep(TICK_SECONDS)


def submitted_event(payment: SimulatedPayment) -> dict[str, Any]:
    body = payment.request.model_dump(mode="json", exclude_none=True)
    body["card_number"] = payment.request.card_number.get_secret_value()
    event = cloud_event(
        event_type=TRANSACTION_SUBMITTED,
        source=SOURCE,
        subject=payment.request.account_id,
        time=payment.request.occurred_at or utcnow(),
        data=body,
    )
    event["id"] = payment.event_id
    return event


def label_event(
    payment: SimulatedPayment, transaction_id: str | None, at: datetime
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "label": payment.label,
        "source": "simulation",
        "labelled_at": at.isoformat(),
    }
    if transaction_id:
        data["transaction_id"] = transaction_id
    else:
        data["account_id"] = payment.request.account_id
        data["idempotency_key"] = payment.event_id
    return cloud_event(
        event_type=TRANSACTION_LABELLED, source=SOURCE, subject=transaction_id or payment.event_id,
        time=at, data=data,
    )  # fmt: skip


def _message(topic: str, key: str, event: dict[str, Any]) -> Message:
    return Message(topic, encode(event), key, headers_for(event))


class Simulation:
    def __init__(
        self,
        bus: EventBus,
        target: Target,
        *,
        http: httpx.AsyncClient | None = None,
        label_delay_scale: float = 1.0,
    ) -> None:
        if target == "http" and http is None:
            raise BadRequest("--to http needs the API address and a key")
        self.bus = bus
        self.target = target
        self.http = http
        self.label_delay_scale = label_delay_scale
        self.report = SimulationReport()
        # (due, tiebreak, payment, transaction id): built when due, stamped with that time.
        self._labels: list[tuple[float, int, SimulatedPayment, str | None]] = []
        self._scheduled = 0
        self._gate = asyncio.Semaphore(HTTP_CONCURRENCY)

    async def run(
        self, simulator: Simulator, rate: float, duration: float,
        advance: Callable[[int], None] = lambda _: None,
    ) -> SimulationReport:  # fmt: skip
        async for batch in paced(simulator, rate, duration):
            for p in batch:
                self.report.scenarios[p.scenario] = self.report.scenarios.get(p.scenario, 0) + 1
                self.report.fraud += p.label
            if self.target == "stream":
                await self._to_stream(batch)
            else:
                await asyncio.gather(*(self._to_http(p) for p in batch))
            await self._emit_labels(time.monotonic())
            advance(len(batch))
        await self._emit_labels(float("inf"))  # the truth arrives in the end
        return self.report

    async def _to_stream(self, batch: list[SimulatedPayment]) -> None:
        await self.bus.publish(
            [_message(INBOUND_TOPIC, p.request.account_id, submitted_event(p)) for p in batch]
        )
        self.report.sent += len(batch)
        for p in batch:
            self._schedule_label(p, None)

    async def _to_http(self, payment: SimulatedPayment) -> None:
        assert self.http is not None
        body = payment.request.model_dump(mode="json", exclude_none=True)
        body["card_number"] = payment.request.card_number.get_secret_value()
        async with self._gate:
            try:
                response = await self.http.post(
                    "/v1/transactions",
                    content=orjson.dumps(body),
                    headers={
                        "Idempotency-Key": payment.event_id,
                        "Content-Type": "application/json",
                    },
                )
            except httpx.HTTPError as error:
                raise Unavailable(f"the API did not answer: {error}") from error
        if response.status_code != 201:
            if response.status_code in (401, 403):
                raise BadRequest(f"the API refused the key: {response.text}")
            self.report.failed += 1
            return
        document = response.json()
        status = document["decision"]["status"]
        self.report.statuses[status] = self.report.statuses.get(status, 0) + 1
        self.report.sent += 1
        self._schedule_label(payment, document["id"])

    def _schedule_label(self, payment: SimulatedPayment, transaction_id: str | None) -> None:
        due = time.monotonic() + payment.label_delay * self.label_delay_scale
        self._scheduled += 1
        heapq.heappush(self._labels, (due, self._scheduled, payment, transaction_id))

    async def _emit_labels(self, now: float) -> None:
        due: list[Message] = []
        at = utcnow()
        while self._labels and self._labels[0][0] <= now:
            _, _, payment, transaction_id = heapq.heappop(self._labels)
            event = label_event(payment, transaction_id, at)
            due.append(_message(LABELS_TOPIC, payment.request.account_id, event))
        if due:
            await self.bus.publish(due)
            self.report.labels += len(due)
